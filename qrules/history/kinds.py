"""The record kinds of a history and how records link, in a module light enough for `qrules check`.

``history`` (the pydantic models) and ``audit`` (which checks that a ruleset's clocks name
real event kinds) read the kinds; the engine, ``batch``, ``deadlines`` and ``casetest`` share
the links: :func:`event_links`, :func:`subjects_concerned` and :func:`components`.
"""

from typing import Any, Callable, Mapping

SUBJECT_KINDS = ("operator", "product")
PROCEDURE_KINDS = ("notice_sent", "objection_filed", "objection_accepted", "objection_refused",
                   "objection_answered", "repair_applied", "error_reported")
EVENT_KINDS = ("deduction", "repair", "reward", "spot_check", "filing", "correction") + PROCEDURE_KINDS

#: Event kinds whose ``of`` names another event (a repair's deduction, a corrected event...).
HAS_OF = frozenset({"repair", "correction"} | set(PROCEDURE_KINDS))


def subjects_concerned(event: Any, events: Mapping[str, Any], producer_of: Callable[[str], Any] | None = None,
                       depth: int = 5) -> list[str]:
    """The subjects an event concerns: those it names (``subjects``, ``subject``), else those of
    the event its ``of`` chain reaches (a repair's deduction, a notice's event), at most ``depth``
    steps; with ``producer_of``, each named product's producer too. Sorted, without repeats.

    The one answer for rejections (engine), procedure clocks (deadlines) and test cases.
    """
    for _ in range(depth + 1):
        fields = getattr(event, "__dict__", None) or {}
        names = list(fields.get("subjects") or [])
        if fields.get("subject"):
            names.append(fields["subject"])
        of = fields.get("of")
        if names or of is None or str(of) not in events:
            break
        event = events[str(of)]
    out = {str(sid) for sid in names}
    if producer_of is not None:
        out |= {str(p) for p in map(producer_of, list(out)) if p}
    return sorted(out)


def event_links(ev) -> list[str]:
    """Subject ids an event names (every field that can name one).

    Reads only the fields its kind has: ``getattr`` on a pydantic model for a missing field is slow.
    """
    kind = ev.kind
    if kind == "deduction":
        return ev.subjects
    if kind in ("reward", "spot_check", "filing"):
        return [ev.subject]
    if kind == "repair":
        return ev.subjects or []
    if kind == "correction" and ev.changes is not None and ev.changes.subjects:
        return ev.changes.subjects
    return []


class Components:
    """The connected components of a history: subjects and events linked by product -> producer,
    event -> every subject it names (:func:`event_links`), event -> the event in its ``of``.

    Everything that can change a subject's result lies in its component (第十条、第十二条 and the
    ``of`` references), so evaluating a component alone gives the same results as the whole
    history: ``engine.connected_part`` and ``batch.partition`` both rely on it.
    """

    def __init__(self, history: Any):
        subjects, events = history.subjects, history.events
        node: dict[str, int] = {}     # subject id (valid, refused or only referenced) -> node
        parent: list[int] = []

        def find(x: int) -> int:
            root = x
            while parent[root] != root:
                root = parent[root]
            while parent[x] != root:  # path compression
                parent[x], x = root, parent[x]
            return root

        def subject_node(sid: str) -> int:
            n = node.get(sid)
            if n is None:
                n = node[sid] = len(parent)
                parent.append(n)
            return n

        def union(a: int, b: int) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[rb] = ra

        s_nodes = []
        for s in subjects:
            n = subject_node(str(s.id))
            s_nodes.append(n)
            if s.kind == "product":
                union(n, subject_node(str(s.producer)))
        e_nodes = list(range(len(parent), len(parent) + len(events)))
        parent.extend(e_nodes)
        ev_node = {str(ev.id): n for ev, n in zip(events, e_nodes)}
        for ev, n in zip(events, e_nodes):
            for sid in event_links(ev):
                union(n, subject_node(str(sid)))
            if ev.kind in HAS_OF:
                target = ev_node.get(str(ev.of))
                if target is not None:
                    union(n, target)
        index: dict[int, int] = {}  # root -> component, numbered by first appearance
        #: Per component, the indices of its subjects and of its events, in input order.
        self.subjects: list[list[int]] = []
        self.events: list[list[int]] = []
        for i, n in enumerate(s_nodes):
            self._member(index, find(n)).append(i)
        for i, n in enumerate(e_nodes):
            self._member(index, find(n), events=True).append(i)
        #: Subject id (also ids only named by events) -> its component.
        self.of_subject: dict[str, int] = {sid: index[find(n)] for sid, n in node.items()}

    def _member(self, index: dict[int, int], root: int, *, events: bool = False) -> list[int]:
        k = index.get(root)
        if k is None:
            k = index[root] = len(self.subjects)
            self.subjects.append([])
            self.events.append([])
        return self.events[k] if events else self.subjects[k]


def components(history: Any) -> Components:
    """The :class:`Components` of ``history``, computed once per history object and size."""
    size = (len(history.subjects), len(history.events))
    private = getattr(history, "__pydantic_private__", None)  # a History's, read without pydantic's __getattr__
    cached = private.get("_links") if private is not None else getattr(history, "_links", None)
    if cached is not None and cached[0] == size:
        return cached[1]
    found = Components(history)
    try:
        history._links = (size, found)
    except (AttributeError, ValueError, TypeError):  # not a History model: computed each time
        pass
    return found
