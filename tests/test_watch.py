"""The folder watch that lets the catalog skip its scan when nothing changed."""

from __future__ import annotations

import os

import pytest

from bot.watch import _LIBC, FolderWatch

pytestmark = pytest.mark.skipif(_LIBC is None, reason="no inotify on this system")


def test_quiet_folder_reports_no_change_after_the_first_look(tmp_path):
    watch = FolderWatch(str(tmp_path))
    assert watch.changed() is True  # first look in this process
    assert watch.changed() is False


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: (d / "a.yaml").write_text("new"),
        lambda d: (d / "old.yaml").unlink(),
        lambda d: (d / "old.yaml").rename(d / "b.yaml"),
        lambda d: os.utime(d / "old.yaml", ns=(1, 1)),
        lambda d: (d / "old.yaml").open("a").write("more"),
    ],
)
def test_every_kind_of_edit_is_seen_once(tmp_path, edit):
    (tmp_path / "old.yaml").write_text("x")
    watch = FolderWatch(str(tmp_path))
    watch.changed()
    edit(tmp_path)
    assert watch.changed() is True
    assert watch.changed() is False


def test_removed_folder_falls_back_to_always_looking(tmp_path):
    folder = tmp_path / "surveys"
    folder.mkdir()
    watch = FolderWatch(str(folder))
    watch.changed()
    folder.rmdir()
    assert watch.changed() is True
    assert watch.changed() is True  # no watch left: every call must scan
