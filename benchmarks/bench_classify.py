"""How well ``ticketkit.kb.Classifier`` suggests a new ticket's queue and priority.

Usage::

    python benchmarks/bench_classify.py              # 2,000 tickets, seed 8
    python benchmarks/bench_classify.py --n 10000 --seed 1
    python benchmarks/bench_classify.py --eval-set   # the hand-written tickets, 5-fold

Generates a labelled set of help-desk tickets (fixed seed): six queues, each
with its own vocabulary, sharing generic words ("issue", "since", "today")
and some ambiguous ones ("account" is access and billing, "email" is it and
access); about one word in eight comes from another queue. Priorities P1–P4
depend partly on the queue (network tickets are more often P1) and are hinted
at by urgency phrases ("all users", "production down", "no rush"), but one
ticket in five has no hint and one hint in four points at another priority.
Then 5 % of the queue labels and 10 % of the priority labels are replaced by
random ones, as a real help desk's mistakes would be. The tickets are opened
in an in-memory tracker; the classifiers learn from the first 80 % through
``Classifier.from_tickets`` and are scored on the other 20 %, next to the
majority-class baseline ("baseline": always guess the commonest label of the
training part). "conf ≥ 0.8" is the accuracy of the suggestions whose
confidence is at least 0.8, and "coverage" the share of held-out tickets that
reach it; "p50/p90" is the time of one ``suggest`` call. Prints a Markdown
table.

Results, 2026-11-25 04:36 UTC (2 CPU cores, Linux, Python 3.11.7;
``python benchmarks/bench_classify.py``):

| target | labels | accuracy | baseline | conf ≥ 0.8 | coverage | train | p50/p90 | JSON |
|---|---|---|---|---|---|---|---|---|
| queue | 6 | 97.0% | 31.2% (it) | 97.0% | 100.0% | 26 ms | 41 µs/52 µs | 15 KiB |
| priority | 4 | 47.8% | 40.2% (P3) | 53.6% | 69.0% | 45 ms | 31 µs/39 µs | 11 KiB |

Seeds 1 and 2 give 96.2 % / 95.2 % for the queue and 52.5 % / 52.8 % for the
priority (baselines 29.2 % / 25.8 % and 39.8 % / 41.0 %); 10,000 tickets give
96.2 % and 51.9 %. The queue is in the words; the priority mostly is not: a
reader who knew which phrase was the hint would score about 70 % (80 % of
tickets hinted, 81 % of hints right, then 10 % label noise), and naive Bayes
lets a ticket's dozen topic words (which say its queue, hence only its usual
priority) outvote a two-word hint. Naive Bayes is also over-confident: nearly
every queue suggestion claims 0.8 or more.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from ticketkit import Tracker
from ticketkit._model import Ticket
from ticketkit.kb import Classifier


def _words(text: str) -> list[str]:
    return text.split()


GENERIC = _words(
    "issue problem error help since today yesterday morning user team working broken "
    "again still urgent need know why access new old"
)

QUEUES: dict[str, tuple[str, list[str], list[str]]] = {
    # queue: (key prefix, title nouns, description words)
    "it": (
        "IT",
        ["Laptop", "Monitor", "Keyboard", "Outlook", "Excel", "Docking station", "Software"],
        _words(
            "laptop screen monitor keyboard mouse install update driver crash freeze blue "
            "software excel outlook email battery charger docking reboot windows macos"
        ),
    ),
    "network": (
        "NET",
        ["VPN", "Wifi", "Network", "Internet", "DNS", "Firewall", "Switch"],
        _words(
            "vpn wifi network internet dns firewall switch router latency packet loss "
            "connection timeout bandwidth cable port proxy ping slow disconnects"
        ),
    ),
    "access": (
        "ACC",
        ["Password", "Account", "Login", "Permissions", "MFA", "SSO"],
        _words(
            "password account login locked reset permissions mfa token sso group role "
            "expired authenticator email unlock credentials sharepoint folder"
        ),
    ),
    "hr": (
        "HR",
        ["Payslip", "Holiday", "Leave", "Contract", "Onboarding", "Benefits"],
        _words(
            "payslip salary holiday leave contract onboarding benefits pension overtime "
            "sick manager hiring employee parental allowance review office"
        ),
    ),
    "facilities": (
        "FAC",
        ["Printer", "Desk", "Heating", "Light", "Parking", "Meeting room", "Kitchen"],
        _words(
            "printer toner paper desk chair heating cold light lamp parking badge door "
            "kitchen coffee meeting room floor office cleaning leak"
        ),
    ),
    "billing": (
        "BIL",
        ["Invoice", "Refund", "Payment", "Subscription", "Credit card", "Quote"],
        _words(
            "invoice refund payment subscription credit card charge vat quote order "
            "receipt billing account price discount renewal plan overdue"
        ),
    ),
}
QUEUE_SHARE = {"it": 30, "network": 15, "access": 20, "hr": 10, "facilities": 15, "billing": 10}
PROBLEMS = ["not working", "broken", "question", "request", "failing", "problem", "error"]

PRIORITIES = ["P1", "P2", "P3", "P4"]
# How often each queue's tickets have each priority (P1, P2, P3, P4).
PRIORITY_SHARE = {
    "it": (5, 20, 50, 25),
    "network": (25, 35, 30, 10),
    "access": (10, 35, 40, 15),
    "hr": (2, 10, 48, 40),
    "facilities": (3, 15, 42, 40),
    "billing": (8, 22, 45, 25),
}
HINTS = {
    "P1": [
        "all users affected",
        "production down",
        "outage",
        "customers cannot order",
        "whole company",
        "critical asap",
        "nobody can work",
    ],
    "P2": [
        "several colleagues affected",
        "blocking my work",
        "deadline today",
        "team cannot continue",
        "needed before the meeting",
    ],
    "P3": [
        "only me",
        "intermittent",
        "there is a workaround",
        "happens sometimes",
        "annoying but manageable",
    ],
    "P4": [
        "no rush",
        "when you have time",
        "just a question",
        "small suggestion",
        "next week is fine",
        "nice to have",
    ],
}


def generate(n: int, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """``n`` tickets as (title, description, queue, priority), labels noised."""
    names = list(QUEUES)
    tickets = []
    for _ in range(n):
        queue = rng.choices(names, weights=[QUEUE_SHARE[q] for q in names])[0]
        priority = rng.choices(PRIORITIES, weights=PRIORITY_SHARE[queue])[0]
        _, nouns, vocabulary = QUEUES[queue]
        title = f"{rng.choice(nouns)} {rng.choice(PROBLEMS)}"
        words = []
        for _ in range(rng.randint(6, 20)):
            draw = rng.random()
            if draw < 0.5:
                words.append(rng.choice(vocabulary))
            elif draw < 0.875:
                words.append(rng.choice(GENERIC))
            else:
                words.append(rng.choice(QUEUES[rng.choice(names)][2]))
        if rng.random() < 0.8:
            hinted = priority if rng.random() < 0.75 else rng.choice(PRIORITIES)
            words.insert(rng.randint(0, len(words)), rng.choice(HINTS[hinted]))
        description = " ".join(words).capitalize() + "."
        if rng.random() < 0.05:
            queue = rng.choice(names)
        if rng.random() < 0.10:
            priority = rng.choice(PRIORITIES)
        tickets.append((title, description, queue, priority))
    return tickets


def score(
    model: Classifier, tickets: list[Ticket], target: str, majority: str
) -> dict[str, object]:
    """Accuracy, baseline, confident accuracy and coverage, and prediction times."""
    right = baseline = confident = confident_right = 0
    times = []
    for ticket in tickets:
        truth = ticket.queue if target == "queue" else str(ticket.priority)
        start = time.perf_counter()
        suggestion = model.suggest(ticket.title, ticket.description)
        times.append(time.perf_counter() - start)
        right += suggestion.label == truth
        baseline += majority == truth
        if suggestion.confidence >= 0.8:
            confident += 1
            confident_right += suggestion.label == truth
    return {
        "accuracy": right / len(tickets),
        "baseline": baseline / len(tickets),
        "confident": confident_right / confident if confident else float("nan"),
        "coverage": confident / len(tickets),
        "median_us": statistics.median(times) * 1e6,
        "p90_us": statistics.quantiles(times, n=10)[-1] * 1e6,
    }


def cross_validate(folds: int = 5) -> None:
    """Accuracy on the hand-written tickets of ``data/kb_eval.json``, by k-fold cross-validation.

    The set is small (a few hundred tickets), so every ticket is held out once:
    the tickets are dealt into ``folds`` parts by position, and each part is
    scored by a classifier trained on the others. The baseline guesses the
    majority label of the training part.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from kb_eval import load

    data = load()
    print(f"{len(data.tickets)} hand-written tickets of kb_eval.json, {folds}-fold\n")
    print("| target | labels | accuracy | baseline | conf ≥ 0.8 | coverage |")
    print("|---|---|---|---|---|---|")
    for target in ("queue", "priority"):
        right = baseline = confident = confident_right = 0
        for fold in range(folds):
            train = [t for i, t in enumerate(data.tickets) if i % folds != fold]
            held = [t for i, t in enumerate(data.tickets) if i % folds == fold]
            model = Classifier.train((t.title, t.description, getattr(t, target)) for t in train)
            counts = Counter(getattr(t, target) for t in train)
            majority = min(counts, key=lambda label: (-counts[label], label))
            for ticket in held:
                truth = getattr(ticket, target)
                suggestion = model.suggest(ticket.title, ticket.description)
                right += suggestion.label == truth
                baseline += majority == truth
                if suggestion.confidence >= 0.8:
                    confident += 1
                    confident_right += suggestion.label == truth
        n = len(data.tickets)
        labels = len({getattr(t, target) for t in data.tickets})
        print(
            f"| {target} | {labels} | {right / n:.1%} | {baseline / n:.1%} "
            f"| {confident_right / confident if confident else float('nan'):.1%} "
            f"| {confident / n:.1%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="tickets to generate")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--train", type=float, default=0.8, help="share used for training")
    parser.add_argument(
        "--eval-set",
        action="store_true",
        help="cross-validate on the hand-written tickets of data/kb_eval.json instead",
    )
    args = parser.parse_args()
    if args.eval_set:
        cross_validate()
        return

    rows = generate(args.n, random.Random(args.seed))
    tracker = Tracker.in_memory(
        queues={queue: prefix for queue, (prefix, _, _) in QUEUES.items()}, default_queue="it"
    )
    tickets = [
        tracker.open(title, description, actor="bench", queue=queue, priority=priority)
        for title, description, queue, priority in rows
    ]
    cut = int(len(tickets) * args.train)
    train, held_out = tickets[:cut], tickets[cut:]

    print(
        f"{args.n} tickets (seed {args.seed}), trained on {len(train)}, scored on {len(held_out)}\n"
    )
    print(
        "| target | labels | accuracy | baseline | conf ≥ 0.8 | coverage | train | p50/p90 | JSON |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for target in ("queue", "priority"):
        start = time.perf_counter()
        model = Classifier.from_tickets(train, target)
        trained = time.perf_counter() - start
        counts = Counter(t.queue if target == "queue" else str(t.priority) for t in train)
        majority = min(counts, key=lambda label: (-counts[label], label))
        result = score(model, held_out, target, majority)
        size = len(json.dumps(model.to_data()))
        print(
            f"| {target} | {len(model.labels)} | {result['accuracy']:.1%} "
            f"| {result['baseline']:.1%} ({majority}) | {result['confident']:.1%} "
            f"| {result['coverage']:.1%} | {trained * 1000:.0f} ms "
            f"| {result['median_us']:.0f} µs/{result['p90_us']:.0f} µs "
            f"| {size / 1024:.0f} KiB |"
        )


if __name__ == "__main__":
    main()
