"""The percolator finds exactly what the reference evaluator finds, with the same hits, and its
work follows the candidates, not the number of subscriptions."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.compiled import compile_query, dumps, evaluate, loads, public_hits
from subscriptions.documents import PaperDoc
from subscriptions.percolator import Percolator
from subscriptions.query import And, Author, Category, Not, Or, Term, is_positive, parse, to_text

WORDS = ["zero", "shot", "model", "models", "modeling", "diffusion", "video", "audio", "graph"]
TEXT_WORDS = WORDS + ["Zero-shot", "zero-shot", "zeroshot", "Diffusion", "vidéo", "LLMs", "llm"]
NAMES = ["Yann LeCun", "LeCun, Yann", "Y. LeCun", "Yves LeCun", "Geoffrey Hinton", "G. E. Hinton"]
CATEGORIES = ["cs.CV", "cs.LG", "cs.CL", "stat.ML", "eess.AS"]
FIELDS = ["text", "text", "title", "abstract"]


def texts(max_size: int):
    return st.lists(st.sampled_from(TEXT_WORDS), max_size=max_size).map(" ".join)


papers = st.builds(
    PaperDoc,
    title=texts(6),
    abstract=texts(25),
    authors=st.lists(st.sampled_from(NAMES), max_size=3),
    categories=st.lists(st.sampled_from(CATEGORIES), max_size=2),
)

words = st.sampled_from(WORDS + ["llm", "llms"])
leaves = st.one_of(
    st.builds(lambda w, f: Term((w,), f, text=w), words, st.sampled_from(FIELDS)),
    st.builds(
        lambda ws, f: Term(tuple(ws), f, text=" ".join(ws)),
        st.lists(words, min_size=2, max_size=3),
        st.sampled_from(FIELDS),
    ),
    st.builds(
        lambda ws, f: Term(tuple(ws), f, compound=True, text="-".join(ws)),
        st.lists(words, min_size=2, max_size=2),
        st.sampled_from(FIELDS),
    ),
    st.builds(
        lambda w, n, f: Term((w[:n],), f, prefix=True, text=w[:n] + "*"),
        words.filter(lambda w: len(w) >= 3),
        st.integers(3, 6),
        st.sampled_from(FIELDS),
    ),
    st.builds(
        lambda name: Author(parse(f'author:"{name}"').root.parts, text=name),
        st.sampled_from(["Yann LeCun", "Y. LeCun", "LeCun", "Hinton", "Geoffrey E. Hinton"]),
    ),
    st.builds(
        lambda c, prefix: Category(c.split(".")[0] + ".", prefix=True) if prefix else Category(c),
        st.sampled_from([c.lower() for c in CATEGORIES] + ["cs", "eess"]),
        st.booleans(),
    ),
)
nodes = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda cs: And(tuple(cs)), st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda cs: Or(tuple(cs)), st.lists(children, min_size=2, max_size=3)),
        st.builds(Not, children),
    ),
    max_leaves=6,
)
# What a subscription can be: something the parser accepts (and we go through it, as a saved
# subscription does).
queries = nodes.filter(is_positive).map(lambda node: parse(to_text(node)))


def naive(compiled: list[str], docs: list[PaperDoc]) -> dict:
    found = {}
    for query_index, text in enumerate(compiled):
        node = loads(text)
        for doc_index, doc in enumerate(docs):
            hits = evaluate(node, doc)
            if hits is not None:
                found[(query_index, doc_index)] = hits
    return found


def percolated(compiled: list[str], docs: list[PaperDoc]) -> dict:
    percolator = Percolator(docs)
    for query_index, text in enumerate(compiled):
        percolator.add(text, query_index)
    found = {}
    for doc_index, payloads, hits in percolator.matches():
        for query_index in payloads:
            assert (query_index, doc_index) not in found, "a match reported twice"
            found[(query_index, doc_index)] = public_hits(hits)
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries, min_size=1, max_size=8), st.lists(papers, min_size=1, max_size=6))
def test_the_percolator_finds_exactly_what_the_naive_loop_finds(query_list, docs):
    compiled = [dumps(compile_query(query)) for query in query_list]
    assert percolated(compiled, docs) == naive(compiled, docs)


@settings(max_examples=100, deadline=None)
@given(queries, st.lists(papers, min_size=1, max_size=4))
def test_identical_subscriptions_are_evaluated_once_and_all_reported(query, docs):
    text = dumps(compile_query(query))
    percolator = Percolator(docs)
    for subscription_id in (7, 8, 9):
        percolator.add(text, subscription_id)
    assert len(percolator) == 1
    for _, payloads, _ in percolator.matches():
        assert payloads == [7, 8, 9]


def compiled(text: str) -> str:
    return dumps(compile_query(parse(text)))


DOCS = [
    PaperDoc("Zero-shot text-to-speech", "A diffusion model for speech.", ["Y. LeCun"], ["cs.SD"]),
    PaperDoc("Video diffusion models", "We generate video with diffusion.", [], ["cs.CV"]),
]


def test_subscriptions_whose_words_no_paper_has_are_never_looked_at():
    percolator = Percolator(DOCS)
    for number in range(5_000):
        percolator.add(compiled(f"absent{number} OR missing{number}"), number)
    percolator.add(compiled("zero-shot"), "one")
    matches = list(percolator.matches())
    assert [payloads for _, payloads, _ in matches] == [["one"]]
    # 5,001 subscriptions, one candidate: the cost follows the candidates.
    assert percolator.candidate_count == 1
    assert percolator.skipped == 5_000


def test_a_conjunction_is_indexed_by_its_rarest_word_and_filtered_by_the_others():
    percolator = Percolator(DOCS)
    percolator.add(compiled("diffusion speech"), "speech")  # "speech": 1 paper, "diffusion": 2
    percolator.add(compiled("diffusion video audio"), "audio")  # "audio": in no paper
    assert percolator.index["speech"] == {"diffus": [0]}  # second level: the other word
    assert "diffusion" not in percolator.index
    assert [(doc, payloads) for doc, payloads, _ in percolator.matches()] == [(0, ["speech"])]
    assert percolator.skipped == 1


def test_a_phrase_is_indexed_by_a_pair_of_adjacent_words():
    percolator = Percolator(DOCS)
    percolator.add(compiled('"diffusion model"'), "phrase")
    assert list(percolator.index) == [("diffus", "model")]
    # "Video diffusion models" matches too: models → model.
    assert [doc for doc, _, _ in percolator.matches()] == [0, 1]
    percolator = Percolator(DOCS)
    percolator.add(compiled('"model diffusion"'), "reversed")
    assert list(percolator.matches()) == []


def test_an_author_is_indexed_by_a_name_and_an_initial():
    percolator = Percolator(DOCS)
    percolator.add(compiled('author:"Yann LeCun"'), "author")
    assert sorted(percolator.index) == ["\x01lecun y", "\x01yann l"]
    [(doc, _, hits)] = list(percolator.matches())
    assert doc == 0 and public_hits(hits) == [{"term": "Y. LeCun", "field": "author"}]


def test_a_query_of_another_version_is_skipped_not_misread():
    percolator = Percolator(DOCS)
    percolator.add('[999,["something","else"]]', "future")
    assert list(percolator.matches()) == [] and percolator.skipped == 1
