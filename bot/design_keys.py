"""Reading a survey's study design keys: target, quotas, arms and random order (SPEC 12).

A mixin of the loader's reader: it uses the reader's value readers and problem list,
and adds the checks that need every question read.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.model import LANGUAGE, NOTE, Arm, Question, Quota
from bot.values import MULTI_SEPARATOR

DESIGN_KEYS = ("target", "quotas", "quota_full", "closed", "arms", "shuffle")
QUOTA_KEYS = ("when", "target")
ARM_KEYS = ("id", "weight")
ARM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
SHUFFLED = ("choice", "multi")  # the types whose choices may be shown in a random order


class DesignKeys:
    """The loader's readers for SPEC 12's keys; mixed into bot.loader's reader."""

    shuffle_nodes: tuple | list = ()  # (node, ids) of each shuffle group read

    def design_settings(self, f: dict) -> dict[str, Any]:
        """The study design keys that are given, read and checked."""
        readers = {
            "target": lambda key, pair: self.whole(key, pair, least=1),
            "quotas": self.quotas,
            "quota_full": self.local_template,
            "closed": self.local_template,
            "arms": self.arms,
            "shuffle": self.shuffle_groups,
        }
        values = {key: read(key, f[key]) for key, read in readers.items() if key in f}
        return {key: value for key, value in values.items() if value is not None}

    def quotas(self, key: str, pair: tuple[Node, Node]) -> tuple[Quota, ...]:
        """`quotas`: a list of {when, target}, each condition listed once."""
        read: dict[str, Quota] = {}
        for node in self.design_items(key, pair, "{when: ..., target: ...}"):
            f = self.fields(node, QUOTA_KEYS)
            for needed in QUOTA_KEYS:
                if needed not in f:
                    self.problem(node, f'this quota is missing "{needed}"')
            when = self.template("when", f["when"], condition=True) if "when" in f else None
            target = self.whole("target", f["target"], least=1) if "target" in f else None
            if when is None or target is None:
                continue
            quota = Quota(when, target, _line_of(node))
            if quota.key in read:
                first = read[quota.key].line
                self.problem(node, f"this quota's when is listed twice (first on line {first})")
                continue
            read[quota.key] = quota
        return tuple(read.values())

    def arms(self, key: str, pair: tuple[Node, Node]) -> tuple[Arm, ...]:
        """`arms`: a list of {id, weight}, ids unique, weights whole numbers of 1 or more."""
        read: dict[str, Arm] = {}
        for node in self.design_items(key, pair, "{id: ..., weight: ...}"):
            f = self.fields(node, ARM_KEYS)
            for needed in ARM_KEYS:
                if needed not in f:
                    self.problem(
                        node, f'this arm is missing "{needed}" (e.g. {{id: a, weight: 1}})'
                    )
            arm_id = self.text("id", f["id"]) if "id" in f else None
            weight = self.whole("weight", f["weight"], least=1) if "weight" in f else None
            if arm_id is not None and not ARM_ID.fullmatch(arm_id):
                self.problem(
                    f["id"][0], f'arm id "{arm_id}" may use only letters, digits, "-" and "_"'
                )
                continue
            if arm_id in read:
                self.problem(f["id"][0], f'arm "{arm_id}" is listed twice')
                continue
            if arm_id is not None and weight is not None:
                read[arm_id] = Arm(arm_id, weight)
        if len(read) == 1:
            self.warn(pair[0], "arms lists one arm only: every session gets it")
        return tuple(read.values())

    def shuffle_groups(self, key: str, pair: tuple[Node, Node]) -> tuple[tuple[str, ...], ...]:
        """`shuffle`: a list of groups, each a list of question ids (checked once all are read)."""
        groups = []
        for node in self.design_items(key, pair, "[q1, q2, q3]", SequenceNode):
            ids = [item.value for item in node.value if isinstance(item, ScalarNode)]
            if len(ids) < 2 or len(ids) != len(node.value):
                self.problem(node, "a shuffle group must list two or more question ids")
                continue
            groups.append((node, tuple(ids)))
        self.shuffle_nodes = groups
        return tuple(ids for _, ids in groups)

    def design_items(self, key: str, pair, shape: str, kind: type = MappingNode) -> list[Node]:
        """The items of a list of mappings (or of lists), each of the right shape."""
        if not isinstance(pair[1], SequenceNode) or not pair[1].value:
            self.problem(pair[0], f"{key} must be a list of entries like {shape}")
            return []
        items = []
        for node in pair[1].value:
            if isinstance(node, kind):
                items.append(node)
            else:
                self.problem(node, f"each entry of {key} must look like {shape}")
        return items

    def shuffle_choices(self, f: dict, qtype: str | None) -> dict[str, Any]:
        """A question's `shuffle_choices`: only for choice and multi questions."""
        if "shuffle_choices" not in f:
            return {}
        if qtype and qtype not in SHUFFLED:
            self.problem(f["shuffle_choices"][0], "shuffle_choices is only for choice and multi")
            return {}
        value = self.flag("shuffle_choices", f["shuffle_choices"])
        return {"shuffle_choices": value} if value else {}

    def check_design(self, f: dict, questions: tuple[Question, ...]) -> None:
        """The checks that need every question: quotas' conditions, groups, fixed choices."""
        by_id = {q.id: (i, q) for i, q in enumerate(questions)}
        for node, group in self.shuffle_nodes:
            self.check_group(node, group, by_id)
        self.check_grouped_once(questions)
        for question in questions:
            self.check_shuffled_choices(question)
        if "quotas" in f:
            self.check_quota_names(f["quotas"], by_id)

    def check_group(self, node: Node, group: tuple[str, ...], by_id: dict) -> None:
        """A group: known questions, consecutive in file order, none the others depend on."""
        unknown = [qid for qid in group if qid not in by_id]
        for qid in unknown:
            hint = self.did_you_mean(qid, list(by_id))
            self.problem(node, f'shuffle names "{qid}", which is not a question{hint}')
        if unknown:
            return
        places = [by_id[qid][0] for qid in group]
        if places != list(range(places[0], places[0] + len(group))):
            self.problem(
                node,
                f"shuffle group [{', '.join(group)}] must list consecutive questions "
                "in the order they are in the file",
            )
            return
        for qid in group:
            self.check_grouped(node, by_id[qid][1], group)

    def check_grouped(self, node: Node, question: Question, group: tuple[str, ...]) -> None:
        """One question of a shuffle group: asked wherever it falls, on its own."""
        if question.type in (NOTE, LANGUAGE):
            self.problem(node, f'"{question.id}" is a {question.type}: it cannot be shuffled')
        if question.next:
            self.problem(
                node, f'"{question.id}" has next, so the questions of its group cannot be shuffled'
            )
        names = _names(question.when.source) if question.when else set()
        if depends := sorted(names & (set(group) - {question.id})):
            self.problem(
                node,
                f'"{question.id}" has a when naming {", ".join(depends)} of the same shuffle '
                "group, which may not be asked before it",
            )

    def check_grouped_once(self, questions: tuple[Question, ...]) -> None:
        """A question in two groups, or a goto into the middle of a group."""
        seen: dict[str, Node] = {}
        firsts = set()
        for node, group in self.shuffle_nodes:
            firsts.add(group[0])
            for qid in group:
                if qid in seen:
                    self.problem(node, f'"{qid}" is in two shuffle groups')
                seen[qid] = node
        for question in questions:
            for branch in question.next:
                if branch.goto in seen and branch.goto not in firsts:
                    self.problem(
                        question.line,
                        f'goto "{branch.goto}" leads into the middle of a shuffle group; '
                        "lead to the group's first question",
                    )

    def check_shuffled_choices(self, question: Question) -> None:
        """`fixed` needs shuffle_choices; a shuffled question's values may not hold `;`."""
        if question.shuffle_choices:
            for choice in question.choices:
                if MULTI_SEPARATOR in choice.value:
                    self.problem(
                        question.line,
                        f'choice value "{choice.value}" holds "{MULTI_SEPARATOR}", which '
                        "separates the shown order in the export (shuffle_choices)",
                    )
        elif any(choice.fixed for choice in question.choices):
            self.problem(
                question.line, f'question "{question.id}" has fixed choices but no shuffle_choices'
            )

    def check_quota_names(self, pair, by_id: dict) -> None:
        """A quota naming a note can never hold: a note has no answer."""
        for node in pair[1].value if isinstance(pair[1], SequenceNode) else ():
            when = next(
                (v for k, v in getattr(node, "value", []) if getattr(k, "value", "") == "when"),
                None,
            )
            if not isinstance(when, ScalarNode):
                continue
            for name in sorted(_names(when.value)):
                if name in by_id and by_id[name][1].type == NOTE:
                    self.problem(
                        when,
                        f'this quota\'s when names "{name}", a note: a note is never answered',
                    )

    def fixed(self, f: dict) -> bool:
        """A choice's `fixed`: true keeps it last when the choices are shuffled."""
        return bool(self.flag("fixed", f["fixed"])) if "fixed" in f else False


ANSWER_NAME = re.compile(r"answers\s*(?:\.\s*([a-z][a-z0-9_]*)|\[\s*['\"]([a-z][a-z0-9_]*)['\"])")


def _names(source: str) -> set[str]:
    """The question ids a condition names as `answers.x` or `answers["x"]`."""
    return {a or b for a, b in ANSWER_NAME.findall(source)}


def _line_of(node: Node) -> int:
    """A node's line, counted from 1."""
    return node.start_mark.line + 1
