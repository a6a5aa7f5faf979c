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


def test_with_a_bar_the_first_call_runs_here_and_its_time_estimates_the_rest(capsys):
    # os.getpid tells where each call ran: the first in this process, the others in the workers.
    pids = run_calls(os.getpid, [()] * 3, n_jobs=2, progress="where")
    assert pids[0] == os.getpid() and os.getpid() not in pids[1:]
    bar = capsys.readouterr().err  # outside a notebook the bar is text on stderr
    assert re.search(r"where: .*the first took \d\.\d s; about \d\.\d s for the other 2 in 2 process", bar)
    run_calls(os.getpid, [()] * 2)
    assert capsys.readouterr() == ("", "")  # without a bar nothing is shown


def test_an_estimate_scales_the_first_call_by_the_remaining_calls_per_process(capsys):
    run_calls(time.sleep, [(0.25,)] * 5, n_jobs=2, progress="naps")  # the first's time x 4 others / 2 processes
    first, rest = map(
        float,
        re.search(r"the first took (\d\.\d) s; about (\d\.\d) s for the other 4", capsys.readouterr().err).groups(),
    )
    assert first >= 0.2 and abs(rest - 2 * first) <= 0.15  # both rounded to 0.1 s
    # Three others on two processes take two rounds; more processes than calls count as the calls.
    run_calls(time.sleep, [(0.25,)] * 4, n_jobs=8, progress="naps")
    first, rest = map(
        float,
        re.search(
            r"the first took (\d\.\d) s; about (\d\.\d) s for the other 3 in 3 process", capsys.readouterr().err
        ).groups(),
    )
    assert abs(rest - first) <= 0.15
    run_calls(time.sleep, [(0.25,)] * 4, n_jobs=2, progress="naps")
    first, rest = map(
        float,
        re.search(r"took (\d\.\d) s; about (\d\.\d) s for the other 3 in 2 process", capsys.readouterr().err).groups(),
    )
    assert abs(rest - 2 * first) <= 0.15
    assert run_calls(time.sleep, [], progress="nothing") == []
    assert run_calls(operator.neg, [(2,)], progress="alone") == [-2]
    assert "the first took" not in capsys.readouterr().err  # one call: nothing to estimate
