"""Turning the rounds of wrk results into medians, ratios, verdicts, a table and a JSON file."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from bench.wrk import WrkResult

BASELINE = "hello"
# The quiz scenario runs wrk with -t equal to -c (see wrk_quiz.lua); when that differs from the
# pages' flags, hello-world is measured again with the quiz's flags as "hello_quiz", its baseline.
QUIZ_BASELINE = "hello_quiz"
BASELINES = (BASELINE, QUIZ_BASELINE)
# The pages measured against the baseline and the share of its throughput each must reach.
# (The at-risk list has none: it is measured for information, a live query the dashboard links to.)
TARGETS = {"lesson": 0.30, "dashboard": 0.30, "grading": 0.25, "credential": 0.30, "teach": 0.10, "quiz": 0.15}
LABELS = {"hello": "hello-world", "lesson": "lesson page", "dashboard": "dashboard", "grading": "grader queue",
          "credential": "credential page", "teach": "course dashboard", "at_risk": "at-risk list",
          "hello_quiz": "hello-world (quiz)", "quiz": "quiz start+submit"}
LABEL_WIDTH = 19


def baseline_of(page: str, round_: dict) -> str:
    """The run a page's requests/s is divided by, in the same round."""
    return QUIZ_BASELINE if page == "quiz" and QUIZ_BASELINE in round_ else BASELINE
PERCENTILES = ("p50", "p95", "p99")
BUSY_LOAD = 0.5  # 1-minute load average before the run above which the table warns of a busy machine


def summarize(rounds: list[dict[str, WrkResult]]) -> dict:
    """Medians across rounds for every page; for the measured pages, the median of the per-round
    ratios of their requests/s to hello-world's in the same round."""
    summary = {}
    for page in rounds[0]:
        results = [r[page] for r in rounds]
        entry = {
            "requests_per_s": statistics.median(r.requests_per_s for r in results),
            "requests_per_s_per_round": [round(r.requests_per_s, 1) for r in results],
            "latency_ms": {p: statistics.median(r.latency_ms[p] for r in results) for p in PERCENTILES},
            "bytes_per_response": statistics.median(r.bytes_per_response for r in results),
        }
        cpu = [r.server_cpu_ms_per_request for r in results]
        if None not in cpu:
            entry["server_cpu_ms_per_request"] = statistics.median(cpu)
        if page not in BASELINES:
            base = baseline_of(page, rounds[0])
            entry["baseline"] = base
            ratios = [r[page].requests_per_s / r[base].requests_per_s for r in rounds]
            entry["ratio"] = statistics.median(ratios)
            entry["ratio_per_round"] = [round(x, 4) for x in ratios]
            if None not in cpu and all(r[base].server_cpu_ms_per_request for r in rounds):
                # Informational: hello-world's server CPU per request over the page's, per round.
                entry["cpu_ratio"] = statistics.median(
                    r[base].server_cpu_ms_per_request / r[page].server_cpu_ms_per_request
                    for r in rounds if r[page].server_cpu_ms_per_request)
        summary[page] = entry
    return summary


def verdicts(summary: dict) -> dict:
    return {page: {"target": target, "ratio": round(summary[page]["ratio"], 4),
                   "passed": summary[page]["ratio"] >= target}
            for page, target in TARGETS.items() if page in summary}


def format_table(summary: dict, config: dict, grading: dict | None = None) -> str:
    """The human-readable result: one row per page, then one verdict line per target, then the
    quiz's in-process grading time."""
    quiz = config.get("quiz")
    lines = [
        f"Skillmark bench: gunicorn --workers {config['workers']} --worker-class sync; "
        f"wrk -t{config['threads']} -c{config['connections']} -d{config['duration_s']:g}s"
        + (f" (quiz: -t{quiz['threads']} -c{quiz['connections']})" if quiz else "") + "; "
        f"{config['rounds']} interleaved rounds; {config['cpus']} CPU(s)",
        "",
        f"{'page':<{LABEL_WIDTH}}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'KB/resp':>9}"
        f"{'CPU ms':>8}{'CPU ratio':>11}   per round (req/s | ratio)",
    ]
    for page, entry in summary.items():
        ratio = f"{entry['ratio']:.3f}" if "ratio" in entry else "1.000"
        lat = entry["latency_ms"]
        cpu = entry.get("server_cpu_ms_per_request")
        cpu_ratio = entry.get("cpu_ratio", 1.0 if page in BASELINES and cpu else None)
        rounds = " ".join(f"{x:.0f}" for x in entry["requests_per_s_per_round"])
        if "ratio_per_round" in entry:
            rounds += " | " + " ".join(f"{x:.3f}" for x in entry["ratio_per_round"])
        lines.append(f"{LABELS.get(page, page):<{LABEL_WIDTH}}{entry['requests_per_s']:>9.1f}{ratio:>8}"
                     f"{lat['p50']:>9.2f}{lat['p95']:>9.2f}{lat['p99']:>9.2f}"
                     f"{entry['bytes_per_response'] / 1024:>9.1f}"
                     f"{'-' if cpu is None else f'{cpu:.2f}':>8}{'-' if cpu_ratio is None else f'{cpu_ratio:.3f}':>11}"
                     f"   {rounds}")
    lines.append("")
    lines.append("req/s and latencies: median of the rounds; ratio: median of the per-round ratios to hello-world")
    if quiz:
        same = QUIZ_BASELINE not in summary
        lines.append(f"quiz start+submit: each start and each submit is a request ({quiz['questions']} questions, "
                     f"answers to all); {quiz['learners_per_run']} learners per wrk run, "
                     f"{quiz['learners_per_connection']} per connection; its ratio is to hello-world "
                     + ("in the same run (same wrk flags)" if same else "measured with the quiz's wrk flags"))
    lines.append("CPU ms: the server's CPU time per request (master + workers); CPU ratio: hello-world's over the "
                 "page's. Informational, less disturbed by other work on the machine; the verdicts use req/s.")
    if config.get("load_average_before", 0) > BUSY_LOAD:
        lines.append(f"note: the load average was {config['load_average_before']:.2f} before the run: other work "
                     "on this machine makes the numbers noisier (compare the per-round ratios)")
    for page, verdict in verdicts(summary).items():
        word = "PASS" if verdict["passed"] else "BELOW TARGET"
        lines.append(f"{LABELS[page]:<18} {verdict['ratio']:.3f} of hello-world (target >= {verdict['target']:.2f}): "
                     f"{word}")
    if grading:
        lines.append(f"quiz grading       median {grading['median_ms']:.2f} ms per attempt in-process "
                     f"(services.submit_attempt, {grading['questions']} questions; {grading['attempts']} attempts, "
                     f"p90 {grading['p90_ms']:.2f} ms; scoring alone {grading['scoring_median_ms']:.2f} ms)")
    credentials = config.get("credentials")
    if credentials:
        issuance = credentials["issuance_ms"]
        lines.append(f"credential issuing median {issuance['median']:.2f} ms per credential in-process "
                     f"(issuance.issue_if_eligible after a capstone graded: eligibility, results, status bit, "
                     f"eddsa-rdfc-2022 proof, insert; {credentials['issued']} credentials, "
                     f"p90 {issuance['p90']:.2f} ms)")
    dashboard = config.get("dashboard_in_process")
    if dashboard:
        lines.append(f"dashboard          {dashboard['rendered']['median_ms']:.2f} ms CPU per request rendered, "
                     f"{dashboard['cached']['median_ms']:.2f} ms served from its cache, lesson page "
                     f"{dashboard['lesson']['median_ms']:.2f} ms (in-process, median of batches; wrk above "
                     "measures reloads, which the cache answers: a first visit after a change costs the "
                     "rendered figure)")
    teach = config.get("course_dashboard")
    if teach:
        compute = teach["compute_ms"]
        lines.append(f"course figures     median {compute['median']:.1f} ms to compute in-process (stats.compute, "
                     f"what a background refresh costs; {teach['learners']:,} learners, {teach['completions']:,} "
                     f"completions, {teach['quiz_attempts']:,} quiz attempts; {compute['runs']} runs, "
                     f"{compute['min']:.1f}-{compute['max']:.1f} ms); data prepared in {teach['prepare_s']:.1f} s")
        lines.append(f"course dashboard   /teach/{teach['slug']} as its instructor, from a fresh snapshot "
                     f"(recomputed {teach['snapshot_refreshes_during_run']} time(s) during the run, outside wrk); "
                     f"at-risk list: {teach['at_risk']:,} learners at risk, first page of 25, no target")
    return "\n".join(lines)


def write_json(path: Path, config: dict, rounds: list[dict[str, WrkResult]], summary: dict,
               warmup: dict[str, WrkResult], grading: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "config": config,
        "summary": summary,
        "verdicts": verdicts(summary),
        "quiz_grading": grading,
        "warmup": {page: result.to_dict() for page, result in warmup.items()},
        "rounds": [{page: result.to_dict() for page, result in r.items()} for r in rounds],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
