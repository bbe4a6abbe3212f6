"""Classification: naive Bayes suggestions of queue, priority and field values."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketkit import Tracker, ValidationError
from ticketkit._fields import FieldDef
from ticketkit._model import Ticket
from ticketkit.kb import STOP_WORDS, Classifier, Suggestion, features

EXAMPLES = [
    ("Printer jammed", "Paper is stuck in the printer on floor 2", "facilities"),
    ("Printer out of toner", "The printer shows a toner warning", "facilities"),
    ("Broken chair", "My office chair is broken", "facilities"),
    ("VPN down", "Cannot connect to the VPN from home", "network"),
    ("Wifi drops", "The wifi connection drops every few minutes", "network"),
    ("Slow network", "The network is slow, packets lost", "network"),
    ("Payslip wrong", "My salary on the payslip is missing overtime", "hr"),
    ("Holiday balance", "My holiday balance looks wrong", "hr"),
    ("Parental leave", "How do I apply for parental leave", "hr"),
]

titles = st.text(max_size=60)
labels = st.sampled_from(["network", "hr", "facilities", "billing", "P1", "P4"])
examples = st.lists(st.tuples(titles, st.text(max_size=120), labels), min_size=1, max_size=25)
# A few words, often repeated: where counts and new words interact most.
few_words = st.lists(st.sampled_from(["vpn", "printer", "salary", "down", "the"]), max_size=8).map(
    " ".join
)
few_word_examples = st.lists(st.tuples(few_words, few_words, labels), min_size=1, max_size=30)


@pytest.fixture
def model() -> Classifier:
    return Classifier.train(EXAMPLES)


class TestFeatures:
    def test_words_are_case_folded_and_stop_words_dropped(self) -> None:
        """Words compare case-insensitively; 'the', 'is', 'please' say nothing and are dropped."""
        assert features("", "Please, the PRINTER is Broken") == {"printer": 1, "broken": 1}

    def test_title_words_count_double(self) -> None:
        """Each title word counts title_weight times (2 by default), description words once."""
        assert features("VPN", "vpn down") == {"vpn": 3, "down": 1}
        assert features("VPN", "", title_weight=5) == {"vpn": 5}

    def test_urgency_words_are_not_stop_words(self) -> None:
        """'down', 'not', 'no', 'all' are kept: they often decide a priority."""
        assert {"down", "not", "no", "all", "out"}.isdisjoint(STOP_WORDS)

    def test_words_are_those_of_search(self) -> None:
        """A word is a run of letters and digits, as in search: punctuation splits, é stays."""
        assert features("", "café_502-error") == {"café": 1, "502": 1, "error": 1}


class TestPredict:
    def test_obvious_answers(self, model: Classifier) -> None:
        """A ticket full of one label's words gets that label."""
        assert model.suggest("Printer broken", "toner and paper").label == "facilities"
        assert model.suggest("VPN", "cannot connect, wifi slow").label == "network"
        assert model.suggest("payslip", "salary and holiday").label == "hr"

    def test_every_label_is_ranked_best_first(self, model: Classifier) -> None:
        """predict lists every label once, most probable first, summing to 1."""
        ranked = model.predict("wifi drops", "")
        assert ranked[0][0] == "network"
        assert sorted(label for label, _ in ranked) == ["facilities", "hr", "network"]
        probabilities = [p for _, p in ranked]
        assert probabilities == sorted(probabilities, reverse=True)
        assert math.isclose(sum(probabilities), 1.0)

    def test_unknown_words_give_the_priors(self) -> None:
        """With no known word and labels of equal word counts, the priors decide."""
        model = Classifier.train([("a1", "", "x"), ("b1", "", "x"), ("c1 d1", "", "y")])
        ranked = dict(model.predict("zzz", "qqq"))
        assert ranked == pytest.approx({"x": 2 / 3, "y": 1 / 3})

    def test_ties_are_ordered_by_label(self) -> None:
        """Equal probabilities are listed in label order, so answers are deterministic."""
        model = Classifier.train([("alpha", "", "b"), ("beta", "", "a")])
        assert model.predict("nothing known") == [("a", 0.5), ("b", 0.5)]

    def test_suggest_is_the_top_of_predict(self, model: Classifier) -> None:
        """suggest returns predict's first label with its probability as confidence."""
        label, probability = model.predict("holiday", "leave")[0]
        assert model.suggest("holiday", "leave") == Suggestion(label, probability)

    def test_title_weighs_more_than_description(self) -> None:
        """A word in the title outweighs the same-strength word in the description."""
        model = Classifier.train([("printer", "", "facilities"), ("vpn", "", "network")])
        assert model.suggest("printer", "vpn").label == "facilities"
        assert model.suggest("vpn", "printer").label == "network"
        even = Classifier.train(
            [("printer", "", "facilities"), ("vpn", "", "network")], title_weight=1
        )
        assert dict(even.predict("printer", "vpn")) == pytest.approx(
            {"facilities": 0.5, "network": 0.5}
        )

    def test_training_order_does_not_matter(self, model: Classifier) -> None:
        """The same examples in another order give the same probabilities."""
        other = Classifier.train(reversed(EXAMPLES))
        for title, description, _ in EXAMPLES:
            assert other.predict(title, description) == model.predict(title, description)

    def test_huge_text_is_cut(self, model: Classifier) -> None:
        """A pasted log of megabytes is read only up to its first 20,000 characters."""
        assert features("", "printer " * 1_000_000)["printer"] == 2500
        assert model.suggest("", "printer " * 1_000_000).label == "facilities"

    @given(examples, titles, st.text(max_size=200))
    @settings(max_examples=150)
    def test_probabilities_are_a_distribution(
        self, data: list[tuple[str, str, str]], title: str, description: str
    ) -> None:
        """For any training data and any ticket: probabilities in [0, 1] summing to 1."""
        ranked = Classifier.train(data).predict(title, description)
        assert sorted(label for label, _ in ranked) == sorted({label for *_, label in data})
        assert all(0.0 <= p <= 1.0 for _, p in ranked)
        assert math.isclose(math.fsum(p for _, p in ranked), 1.0, rel_tol=1e-9)

    def test_extreme_evidence_does_not_overflow(self) -> None:
        """Thousands of strong words still give finite probabilities (log space)."""
        model = Classifier.train([("printer", "", "f"), ("vpn", "", "n")], alpha=0.001)
        ranked = model.predict("", "printer " * 2000)
        assert ranked[0] == ("f", 1.0)
        assert ranked[1][0] == "n"
        assert 0.0 <= ranked[1][1] < 1e-300


class TestAdd:
    def test_an_empty_classifier_cannot_predict(self) -> None:
        """A classifier built bare must learn before it predicts, and says so."""
        with pytest.raises(ValidationError, match="no examples yet"):
            Classifier().predict("printer")

    def test_learning_a_new_word_never_lowers_its_label(self) -> None:
        """Teaching 'bb → x' makes x more likely for 'bb', although 'bb' was unknown before."""
        model = Classifier.train([("", "", "y"), ("", "aa aa aa aa", "x")], alpha=0.01)
        before = dict(model.predict("", "bb"))["x"]
        model.add("", "bb", "x")
        assert dict(model.predict("", "bb"))["x"] > before

    def test_add_teaches_a_new_label(self, model: Classifier) -> None:
        """A label first seen in add() is predicted from then on."""
        model.add("Invoice wrong", "The invoice total is wrong", "billing")
        assert model.labels == ["billing", "facilities", "hr", "network"]
        assert model.suggest("invoice", "").label == "billing"

    @given(
        st.one_of(examples, few_word_examples),
        st.one_of(titles, few_words),
        st.one_of(st.text(max_size=100), few_words),
        labels,
        st.sampled_from([0.01, 0.5, 1.0, 3.0]),
        st.integers(1, 3),
    )
    @settings(max_examples=300)
    def test_adding_an_example_moves_its_label_up(
        self,
        data: list[tuple[str, str, str]],
        title: str,
        description: str,
        label: str,
        alpha: float,
        title_weight: int,
    ) -> None:
        """After learning (title, description, label), that label is no less likely for it."""
        model = Classifier.train(data, alpha=alpha, title_weight=title_weight)
        before = dict(model.predict(title, description)).get(label, 0.0)
        model.add(title, description, label)
        after = dict(model.predict(title, description))[label]
        assert after >= before - 1e-12

    def test_add_is_thread_safe(self) -> None:
        """Examples added from many threads at once are all counted."""
        model = Classifier()

        def work(n: int) -> None:
            for i in range(200):
                model.add(f"title{i}", "printer vpn", f"label{n}")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        labels = model.to_data()["labels"]
        assert {name: entry["documents"] for name, entry in labels.items()} == {
            f"label{n}": 200 for n in range(4)
        }
        assert labels["label0"]["words"]["printer"] == 200


class TestRefusals:
    def test_no_examples(self) -> None:
        """Training on nothing is refused: there is nothing to predict from."""
        with pytest.raises(ValidationError, match="no training examples"):
            Classifier.train([])

    @pytest.mark.parametrize(
        ("example", "message"),
        [
            (("title", "description"), "tuple"),
            ("title", "tuple"),
            ((1, "d", "x"), "title must be a string"),
            (("t", None, "x"), "description must be a string"),
            (("t", "d", ""), "non-empty string"),
            (("t", "d", "  "), "non-empty string"),
            (("t", "d", 3), "non-empty string"),
            (("t", "d", "two\nlines"), "one line"),
            (("t", "d", "x" * 201), "one line"),
        ],
    )
    def test_malformed_example(self, example: Any, message: str) -> None:
        """A malformed example is refused, naming its position and what is wrong."""
        with pytest.raises(ValidationError, match=message) as caught:
            Classifier.train([("ok", "ok", "ok"), example])
        assert "example 2" in str(caught.value)

    def test_examples_not_an_iterable_of_tuples(self) -> None:
        """A string or mapping in place of the examples is refused."""
        with pytest.raises(ValidationError, match="iterable of"):
            Classifier.train("printer")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"alpha": 0}, "alpha"),
            ({"alpha": -1.0}, "alpha"),
            ({"alpha": math.nan}, "alpha"),
            ({"alpha": True}, "alpha"),
            ({"title_weight": 0}, "title_weight"),
            ({"title_weight": 1.5}, "title_weight"),
            ({"stop_words": "the"}, "stop_words"),
        ],
    )
    def test_bad_options(self, options: dict[str, Any], field: str) -> None:
        """Smoothing must be positive, the title weight a whole number, stop words words."""
        with pytest.raises(ValidationError) as caught:
            Classifier.train(EXAMPLES, **options)
        assert caught.value.field == field

    def test_predict_needs_strings(self, model: Classifier) -> None:
        """predict refuses a title that is not text."""
        with pytest.raises(ValidationError, match="title must be a string"):
            model.predict(None)  # type: ignore[arg-type]


def _data_variants() -> Iterator[tuple[str, Any, str]]:
    good = Classifier.train(EXAMPLES[:2]).to_data()

    def changed(**changes: Any) -> dict[str, Any]:
        return {**good, **changes}

    yield "not a mapping", [], "must be a mapping"
    yield "missing key", {k: v for k, v in good.items() if k != "labels"}, "exactly the keys"
    yield "newer version", changed(version=2), "version 2 is not supported"
    yield "bad alpha", changed(alpha=-1), "alpha"
    yield "bad stop words", changed(stop_words="the"), "stop_words"
    yield "labels a list", changed(labels=[]), "labels must map"
    yield "empty label", changed(labels={"": good["labels"]["facilities"]}), "non-empty"
    yield (
        "zero documents",
        changed(labels={"x": {"documents": 0, "words": {}}}),
        "count of at least 1",
    )
    yield (
        "float count",
        changed(labels={"x": {"documents": 1, "words": {"printer": 1.5}}}),
        "whole count",
    )
    yield (
        "bool documents",
        changed(labels={"x": {"documents": True, "words": {}}}),
        "count of at least 1",
    )


class TestData:
    def test_round_trip_through_json(self, model: Classifier) -> None:
        """to_data is plain JSON; from_data gives back a classifier that answers the same."""
        data = model.to_data()
        again = Classifier.from_data(json.loads(json.dumps(data)))
        assert again.to_data() == data
        for title, description, _ in EXAMPLES:
            assert again.predict(title, description) == model.predict(title, description)
        assert (again.alpha, again.title_weight, again.stop_words) == (
            model.alpha,
            model.title_weight,
            model.stop_words,
        )

    def test_data_is_stable(self, model: Classifier) -> None:
        """The same examples in another order give identical data, sorted."""
        text = json.dumps(model.to_data())
        assert json.dumps(Classifier.train(reversed(EXAMPLES)).to_data()) == text
        assert list(model.to_data()["labels"]) == ["facilities", "hr", "network"]

    def test_custom_options_survive(self) -> None:
        """alpha, title_weight and custom stop words are part of the data."""
        model = Classifier.train(EXAMPLES, alpha=0.5, title_weight=3, stop_words={"Printer"})
        again = Classifier.from_data(json.loads(json.dumps(model.to_data())))
        assert (again.alpha, again.title_weight, again.stop_words) == (0.5, 3, {"printer"})
        assert "printer" not in again.to_data()["labels"]["facilities"]["words"]

    def test_a_restored_classifier_keeps_learning(self, model: Classifier) -> None:
        """add() on a restored classifier behaves as on the original."""
        again = Classifier.from_data(model.to_data())
        model.add("Invoice", "wrong total", "billing")
        again.add("Invoice", "wrong total", "billing")
        assert again.to_data() == model.to_data()
        assert again.predict("invoice") == model.predict("invoice")

    @given(examples)
    @settings(max_examples=100)
    def test_round_trip_property(self, data: list[tuple[str, str, str]]) -> None:
        """Any trained classifier survives to_data → JSON → from_data unchanged."""
        model = Classifier.train(data)
        dumped = model.to_data()
        assert Classifier.from_data(json.loads(json.dumps(dumped))).to_data() == dumped

    @pytest.mark.parametrize(
        ("data", "message"),
        [pytest.param(d, m, id=name) for name, d, m in _data_variants()],
    )
    def test_bad_data_is_refused(self, data: Any, message: str) -> None:
        """Data that to_data could not have written is refused with ValidationError."""
        with pytest.raises(ValidationError, match=message):
            Classifier.from_data(data)


def _tracker_tickets() -> tuple[Tracker, list[Ticket]]:
    tracker = Tracker.in_memory(
        queues={"it": "IT", "hr": "HR"},
        default_queue="it",
        fields=[
            FieldDef("category", "choice", choices=("hardware", "access")),
            FieldDef("vip", "bool"),
            FieldDef("teams", "multi_choice", choices=("a", "b")),
        ],
    )
    rows = [
        ("Laptop broken", "screen cracked", "it", "P2", {"category": "hardware", "vip": True}),
        ("Mouse broken", "mouse does not click", "it", "P4", {"category": "hardware"}),
        ("Password reset", "locked out of my account", "it", "P2", {"category": "access"}),
        ("Payslip", "salary missing", "hr", "P3", {"vip": False}),
        ("Holiday", "holiday request", "hr", "P4", {"teams": ("a", "b")}),
    ]
    tickets = [
        tracker.open(t, d, actor="ann", queue=q, priority=p, fields=f) for t, d, q, p, f in rows
    ]
    return tracker, tickets


class TestFromTickets:
    def test_queue(self) -> None:
        """target='queue' learns the queues of past tickets."""
        _, tickets = _tracker_tickets()
        model = Classifier.from_tickets(tickets, "queue")
        assert model.labels == ["hr", "it"]
        assert model.suggest("salary", "").label == "hr"

    def test_priority(self) -> None:
        """target='priority' learns priorities as 'P1' … 'P5'."""
        _, tickets = _tracker_tickets()
        model = Classifier.from_tickets(tickets, "priority")
        assert model.labels == ["P2", "P3", "P4"]
        assert model.suggest("account locked out").label == "P2"

    def test_custom_field(self) -> None:
        """target='fields.<name>' learns a field's values, skipping tickets without one."""
        tracker, tickets = _tracker_tickets()
        model = Classifier.from_tickets(tickets, "fields.category", fields=tracker.config.fields)
        assert model.labels == ["access", "hardware"]
        assert sum(e["documents"] for e in model.to_data()["labels"].values()) == 3
        assert model.suggest("password").label == "access"

    def test_boolean_field_labels(self) -> None:
        """A boolean field's labels are 'true' and 'false'."""
        _, tickets = _tracker_tickets()
        assert Classifier.from_tickets(tickets, "fields.vip").labels == ["false", "true"]

    def test_tickets_from_a_query(self) -> None:
        """from_tickets takes any iterable of tickets, such as a generator."""
        tracker, tickets = _tracker_tickets()
        model = Classifier.from_tickets(tracker.get(t.key) for t in tickets)
        assert model.labels == ["hr", "it"]

    @pytest.mark.parametrize("target", ["status", "fields.", "Queue", "", None, "fields"])
    def test_unknown_target(self, target: Any) -> None:
        """A target other than queue, priority or fields.<name> is refused."""
        _, tickets = _tracker_tickets()
        with pytest.raises(ValidationError, match="target must be") as caught:
            Classifier.from_tickets(tickets, target)
        assert caught.value.field == "target"

    def test_field_the_tracker_does_not_define(self) -> None:
        """With the tracker's fields given, an undefined field is refused by name."""
        tracker, tickets = _tracker_tickets()
        with pytest.raises(ValidationError, match=r"'fields\.colour' names no custom field"):
            Classifier.from_tickets(tickets, "fields.colour", fields=tracker.config.fields)

    def test_field_no_ticket_has(self) -> None:
        """Without the tracker's fields, a field no ticket has leaves nothing to learn."""
        _, tickets = _tracker_tickets()
        with pytest.raises(ValidationError, match="none of the tickets given has a value"):
            Classifier.from_tickets(tickets, "fields.colour")

    def test_multi_choice_field(self) -> None:
        """A multiple-choice field cannot be a target: a ticket has one label."""
        _, tickets = _tracker_tickets()
        with pytest.raises(ValidationError, match="multiple-choice"):
            Classifier.from_tickets(tickets, "fields.teams")

    def test_no_tickets(self) -> None:
        """No tickets: refused, nothing to learn from."""
        with pytest.raises(ValidationError, match="no tickets were given"):
            Classifier.from_tickets([], "queue")

    def test_not_tickets(self) -> None:
        """Something other than tickets is refused, naming the item."""
        with pytest.raises(ValidationError, match="item 1 of tickets is a tuple"):
            Classifier.from_tickets([("title", "description", "it")])  # type: ignore[list-item]
