"""Autosave slots: real lock files in a temporary folder, and a second process that locks one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mmtui.autosave import claim_slot, slot_path, unclaimed_buffers

HOLD_SLOT = """
import sys
from pathlib import Path
from mmtui.autosave import claim_slot
slot = claim_slot(Path(sys.argv[1]))
print(slot.number, flush=True)
sys.stdin.read()
"""


def test_slot_paths() -> None:
    first = Path("/state/autosave.sql")
    assert slot_path(first, 1) == first
    assert slot_path(first, 3) == Path("/state/autosave-3.sql")


def test_claim_takes_lowest_free_slot(tmp_path: Path) -> None:
    first = tmp_path / "autosave.sql"
    first_slot = claim_slot(first)
    second_slot = claim_slot(first)
    assert (first_slot.number, first_slot.path, first_slot.owned) == (1, first, True)
    assert (second_slot.number, second_slot.path, second_slot.owned) == (
        2,
        tmp_path / "autosave-2.sql",
        True,
    )

    first_slot.release()
    again = claim_slot(first)
    assert again.number == 1
    second_slot.release()
    again.release()


def test_slot_of_other_process_skipped(tmp_path: Path) -> None:
    first = tmp_path / "autosave.sql"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SLOT, str(first)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "1"
        mine = claim_slot(first)
        assert mine.number == 2
        mine.release()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    # The holder's exit freed slot 1.
    after = claim_slot(first)
    assert after.number == 1
    after.release()


def test_all_slots_taken_shares_last(tmp_path: Path) -> None:
    first = tmp_path / "autosave.sql"
    taken = [claim_slot(first, max_slots=2) for _ in range(2)]
    extra = claim_slot(first, max_slots=2)
    assert (extra.number, extra.owned) == (2, False)
    for slot in taken:
        slot.release()


def test_unclaimed_skips_owned_empty_slots(tmp_path: Path) -> None:
    first = tmp_path / "autosave.sql"
    slot_path(first, 2).write_text("SELECT 2")
    slot_path(first, 3).write_text("SELECT 3")
    slot_path(first, 4).write_text("  \n")
    mine = claim_slot(first)
    running = claim_slot(first)  # another instance owns slot 2
    assert running.number == 2

    assert unclaimed_buffers(first, mine) == [slot_path(first, 3)]

    running.release()
    assert unclaimed_buffers(first, mine) == [slot_path(first, 2), slot_path(first, 3)]
    mine.release()


def test_uncreatable_folder_gives_unowned_slot(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    slot = claim_slot(blocker / "autosave.sql")
    assert (slot.number, slot.owned) == (1, False)
    slot.release()
