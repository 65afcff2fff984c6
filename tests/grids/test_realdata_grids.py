"""Grids on real data: overlapping footprints never split across grids, nothing but gridmap's own lines on the
terminal (file descriptors captured, not just Python's streams), an empty community is one notice."""

from __future__ import annotations

import ctypes
import functools
import os

import pytest
from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.domain.footprints import overlap_pairs
from gridmap.domain.geometry import metric_crs
from gridmap.domain.partition import partition_world
from gridmap.quiet import quiet_fds
from gridmap.services import grids
from gridmap.services.taipei import load_taipei
from gridmap.store import open_store
from gridmap.synth.tiny import grid_world


@pytest.fixture(scope="module")
def taipei_url(tmp_path_factory):
    """The shipped Taipei set as the file has it: stacked footprints not merged."""
    url = f"sqlite:///{tmp_path_factory.mktemp('tp') / 'tp.db'}"
    store = open_store(url)
    load_taipei(store, merge_overlapping=None, straddlers="majority")
    store.close()
    return url


def _split_pairs(store, plan) -> tuple[int, int]:
    b = store.read("buildings")
    b = b.to_crs(metric_crs(b)).reset_index(drop=True)
    pairs = overlap_pairs(b.geometry.values)
    ids = b["id"].to_numpy()
    split = sum(plan.assignment.get(ids[i]) != plan.assignment.get(ids[j]) for i, j in zip(pairs["i"], pairs["j"]))
    return len(pairs), int(split)


def test_overlapping_buildings_are_never_split_across_grids(taipei_url, monkeypatch):
    store = open_store(taipei_url)
    try:
        for lo, hi in ((300, 500), (100, 200)):
            res = grids.generate(store, min_households=lo, max_households=hi)
            n, split = _split_pairs(store, res.plan)
            assert n >= 80 and split == 0, (lo, hi, split)
        # the same generation without the ties splits some pairs: the test can tell
        monkeypatch.setattr(grids, "partition_world", functools.partial(partition_world, tie_overlapping=None))
        res = grids.generate(store, min_households=100, max_households=200)
        assert _split_pairs(store, res.plan)[1] > 0
    finally:
        store.close()


def test_grids_generate_prints_only_gridmaps_own_lines(taipei_url, capfd):
    capfd.readouterr()
    res = CliRunner().invoke(
        main, ["grids", "generate", "--min", "100", "--max", "200"], env={"GRIDMAP_DATABASE_URL": taipei_url}
    )
    out, err = capfd.readouterr()  # what reached file descriptors 1 and 2 past click's captured streams
    assert res.exit_code == 0, res.output
    assert out == "" and err == "", (out[:500], err[:500])
    lines = res.output.splitlines()
    assert lines[0].startswith("plan ") and "grids" in lines[0]
    assert all(not line.lstrip().startswith("***") for line in lines)  # METIS's own complaints
    # every problem printed says what to do
    assert all(" → " in line for line in lines if line.startswith("  warning ") or line.startswith("  notice "))


def test_quiet_fds_keeps_c_output_and_hands_it_back(capfd):
    libc = ctypes.CDLL(None)
    with quiet_fds() as said:
        libc.printf(b"***Cannot bisect a graph with 0 vertices!\n")
        os.write(2, b"from C stderr\n")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert "Cannot bisect" in said.text and "from C stderr" in said.text
    os.write(1, b"after\n")  # the descriptors are back
    assert capfd.readouterr().out == "after\n"


def test_quiet_fds_hands_back_only_what_each_call_said_and_a_child_its_own(capfd):
    """The sink file is kept for the process: each call gets only its own text (emptied between calls), and a
    forked child opens its own sink (a shared file offset would mix parent and child)."""
    libc = ctypes.CDLL(None)
    with quiet_fds() as first:
        libc.printf(b"a long first complaint from C\n")
    with quiet_fds() as second:
        libc.printf(b"short\n")
    with quiet_fds() as third:
        pass
    assert "a long first complaint" in first.text
    assert second.text == "short\n" and third.text == ""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: capture, report through the pipe, leave without running the parent's atexit
        try:
            with quiet_fds() as said:
                libc.printf(b"from the child\n")
            os.write(write, said.text.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 1024).decode()
    os.close(read)
    with quiet_fds() as after:
        libc.printf(b"parent again\n")
    assert child == "from the child\n" and after.text == "parent again\n"
    assert capfd.readouterr().out == ""


def test_quiet_fds_nested_calls_each_hand_back_their_own_text(capfd):
    libc = ctypes.CDLL(None)
    with quiet_fds() as outer:
        libc.printf(b"outer before\n")
        with quiet_fds() as inner:
            libc.printf(b"inner\n")
        libc.printf(b"outer after\n")
    assert inner.text == "inner\n"
    assert outer.text == "outer before\nouter after\n"
    assert capfd.readouterr().out == ""


def test_a_community_without_buildings_is_one_notice(sqlite_store):
    w = grid_world(4, 6, communities=2, households=100)
    with sqlite_store.transaction():
        for name in ("districts", "streets", "communities"):
            sqlite_store.write(name, w[name])
        b = w["buildings"]
        sqlite_store.write("buildings", b[b["community_id"] == "370214001001"])
    res = grids.generate(sqlite_store, min_households=300, max_households=500)
    probs = res.report["problems"]
    empty = [p for p in probs if p["kind"] == "community_without_buildings"]
    assert [(p["where"], p["level"]) for p in empty] == [("370214001002", "notice")]
    assert "gridmap import buildings" in empty[0]["fix"]
    codes = {g["code"] for g in res.report["grids"] if g["community_id"] == "370214001002"}
    assert not [p for p in probs if p["kind"] == "out_of_bounds" and p["where"] in codes]
    assert all(p["fix"] for p in probs)
