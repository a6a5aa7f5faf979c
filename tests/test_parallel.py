"""Calls in processes: the results in the order of the calls, whatever the processes, with or without a bar."""

import operator
import os
import re
import time

from radlib.parallel import run_calls


def test_results_come_in_the_order_of_the_calls_in_one_or_two_processes(capsys):
    arguments = [(i, 3) for i in range(7)]
    expected = [i**3 for i in range(7)]
    assert run_calls(operator.pow, arguments) == expected
    assert run_calls(operator.pow, arguments, n_jobs=2, progress="cubes") == expected
    assert "cubes: 100%" in capsys.readouterr().err  # outside a notebook the bar is text on stderr


def test_with_a_bar_the_first_call_runs_here_and_its_time_estimates_the_rest_before_they_start(capsys):
    # os.getpid tells where each call ran: the first in this process, the others in the workers.
    pids = run_calls(os.getpid, [()] * 3, n_jobs=2, progress="where")
    assert pids[0] == os.getpid() and os.getpid() not in pids[1:]
    captured = capsys.readouterr()
    assert re.search(
        r"where: the first of 3 runs took \d\.\d s; the other 2 should take about \d\.\d s in 2 process", captured.out
    )
    run_calls(os.getpid, [()] * 2)
    assert capsys.readouterr().out == ""  # without a bar nothing is printed


def test_an_estimate_scales_the_first_call_by_the_remaining_calls_per_process(capsys):
    run_calls(time.sleep, [(0.25,)] * 5, n_jobs=2, progress="naps")  # the first's time x 4 others / 2 processes
    first, rest = map(
        float, re.search(r"took (\d\.\d) s; the other 4 should take about (\d\.\d) s", capsys.readouterr().out).groups()
    )
    assert first >= 0.2 and abs(rest - 2 * first) <= 0.15  # both rounded to 0.1 s
    assert run_calls(time.sleep, [], progress="nothing") == []
    assert run_calls(operator.neg, [(2,)], progress="alone") == [-2]
    assert re.search(r"^alone: one run, \d\.\d s$", capsys.readouterr().out.strip())
