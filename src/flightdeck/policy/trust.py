"""Decide whether a role trust policy lets only the platform in, and only with the external ID.

The cross-account role is the whole of the platform's access to a customer account, so
its trust policy is what a security reviewer must be able to rely on. The checker answers
one question exactly: can anyone other than the platform account assume the role, can
the platform assume it without the organization's external ID, and can the platform
assume it at all? Every way the answer is "wrong" is a :class:`TrustPolicyProblem` with
a stable ``code``, a one-sentence message naming the statement and a one-sentence fix.

It is deliberately strict about the one shape that is unambiguous (a ``StringEquals`` on
``sts:ExternalId`` with the organization's ID as the only value) and reports every other
shape that would let a different or missing external ID through. Messages never contain
the external ID itself, because reviewers paste them into tickets.

Pure: no I/O, no AWS calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flightdeck.policy.conditions import (
    evaluate,
    has_wildcard,
    is_like_operator,
    literal_value,
    value_matches,
)
from flightdeck.policy.document import (
    ConditionClause,
    InvalidPolicyError,
    PolicyDocument,
    Principal,
    Statement,
    parse_policy,
)

__all__ = [
    "PROBLEM_CODES",
    "InvalidPolicyError",
    "TrustPolicyProblem",
    "TrustPolicyReport",
    "check_trust_policy",
]

ASSUME_ROLE = "sts:AssumeRole"
# Every STS action that hands out the role's credentials; a principal granted any of them
# can act as the role even though only AssumeRole carries an external ID.
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")
EXTERNAL_ID_KEY = "sts:ExternalId"
PRINCIPAL_ACCOUNT_KEY = "aws:PrincipalAccount"

PROBLEM_CODES: tuple[str, ...] = (
    "wildcard_principal",
    "extra_principal",
    "wrong_account",
    "platform_not_trusted",
    "assume_role_missing",
    "not_principal_allow",
    "not_principal_deny",
    "external_id_missing",
    "external_id_mismatch",
    "external_id_multiple_values",
    "external_id_wildcard",
    "external_id_case_insensitive",
    "external_id_vacuous",
    "external_id_wrong_operator",
    "deny_blocks_platform",
)

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PRINCIPAL_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):(?:iam|sts)::(?P<account>[^:]*):(?P<resource>.+)$"
)
_ORG_ID = "the organization's external ID"


@dataclass(frozen=True)
class TrustPolicyProblem:
    code: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


@dataclass
class TrustPolicyReport:
    problems: list[TrustPolicyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> list[str]:
        return [problem.code for problem in self.problems]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the CLI prints: ``{"ok": bool, "problems": [{code, message, fix}]}``."""
        return {"ok": self.ok, "problems": [problem.as_dict() for problem in self.problems]}


@dataclass(frozen=True)
class _Admitted:
    """Who a statement lets in, after any ``aws:PrincipalAccount`` narrowing."""

    kind: Literal["any", "account", "other"]
    account: str | None
    root: bool  # the whole account (its root ARN or bare ID), not one role or user in it
    written: str  # how the reader sees it in the policy, for messages
    description: str


def check_trust_policy(
    policy: str | bytes | Mapping[str, Any], platform_account_id: str, external_id: str
) -> TrustPolicyReport:
    """Check a role trust policy against the platform account and the organization's external ID.

    Raises :class:`InvalidPolicyError` when ``policy`` is not a trust policy IAM would accept,
    and ``ValueError`` when the account ID or external ID arguments are malformed.
    """
    if not _ACCOUNT_ID.match(platform_account_id or ""):
        raise ValueError("the platform account ID must be exactly 12 digits")
    if not external_id:
        raise ValueError("the external ID must not be empty")
    document = parse_policy(policy)
    return _Checker(document, platform_account_id, external_id).run()


class _Checker:
    def __init__(self, document: PolicyDocument, platform: str, external_id: str) -> None:
        self.document = document
        self.platform = platform
        self.external_id = external_id
        self.variables = document.policy_variables
        self.problems: list[TrustPolicyProblem] = []
        self.root_arn = f"arn:aws:iam::{platform}:root"

    # -- driver -------------------------------------------------------------------------

    def run(self) -> TrustPolicyReport:
        allow = [s for s in self.document.statements if s.effect == "Allow"]
        deny = [s for s in self.document.statements if s.effect == "Deny"]

        platform_trusted = False  # some Allow grants sts:AssumeRole to the platform account
        platform_named_elsewhere: list[Statement] = []  # names the platform, no AssumeRole
        foreign: list[tuple[Statement, _Admitted]] = []  # other accounts granted assumption

        for statement in allow:
            grants_assumption = any(statement.covers_action(a) for a in ASSUME_ACTIONS)
            grants_assume_role = statement.covers_action(ASSUME_ROLE)
            if statement.not_principal:
                self._not_principal_allow(statement)
                if grants_assume_role and not self._lists_platform(statement.principals):
                    platform_trusted = True
                    self._check_external_id(statement)
                continue
            admitted = self._admitted(statement)
            admits_platform = any(a.kind == "any" or a.account == self.platform for a in admitted)
            if admits_platform and not grants_assume_role:
                platform_named_elsewhere.append(statement)
            if not grants_assumption:
                continue
            for entry in admitted:
                if entry.kind == "any":
                    self._wildcard_principal(statement, entry)
                elif entry.kind == "account" and entry.account != self.platform:
                    foreign.append((statement, entry))
                elif entry.kind == "other":
                    self._extra_principal(statement, entry, platform_in_statement=admits_platform)
            if admits_platform and grants_assume_role:
                platform_trusted = True
                self._check_external_id(statement)

        if platform_trusted:
            for statement, entry in foreign:
                self._extra_principal(statement, entry, platform_in_statement=True)
        elif platform_named_elsewhere:
            self._assume_role_missing(platform_named_elsewhere)
            for statement, entry in foreign:
                self._extra_principal(statement, entry, platform_in_statement=False)
        elif foreign:
            for statement, entry in foreign:
                self._wrong_account(statement, entry)
        else:
            self._add(
                "platform_not_trusted",
                f"No Allow statement lets the platform account {self.platform} assume the role.",
                f'Add an Allow statement for "sts:AssumeRole" with principal '
                f'{{"AWS": "{self.root_arn}"}} and a StringEquals condition on '
                f"sts:ExternalId set to {_ORG_ID}.",
            )

        for statement in deny:
            self._check_deny(statement)
        return TrustPolicyReport(problems=_deduplicated(self.problems))

    # -- principals ---------------------------------------------------------------------

    def _admitted(self, statement: Statement) -> list[_Admitted]:
        admitted = [self._classify(principal) for principal in statement.principals]
        narrowed_to = self._principal_account_narrowing(statement)
        if narrowed_to is None:
            return admitted
        result: list[_Admitted] = []
        for entry in admitted:
            if entry.kind == "any":
                # A wildcard principal limited by aws:PrincipalAccount admits exactly those
                # accounts, the same as naming them.
                result.extend(
                    _Admitted(
                        "account",
                        account,
                        True,
                        entry.written,
                        f"AWS account {account} (through a condition on {PRINCIPAL_ACCOUNT_KEY})",
                    )
                    for account in sorted(narrowed_to)
                )
            elif entry.kind == "account" and entry.account in narrowed_to:
                result.append(entry)
            # Other accounts, services and federated principals cannot satisfy the
            # condition, so the statement does not admit them.
        return result

    def _principal_account_narrowing(self, statement: Statement) -> set[str] | None:
        """Accounts an exact ``aws:PrincipalAccount`` condition limits the statement to."""
        narrowed: set[str] | None = None
        for clause in statement.conditions_on(PRINCIPAL_ACCOUNT_KEY):
            values = self._exact_values(clause)
            if values is None:
                continue
            narrowed = values if narrowed is None else narrowed & values
        return narrowed

    def _classify(self, principal: Principal) -> _Admitted:
        if principal.kind == "everyone":
            return _Admitted("any", None, False, '"*"', "every principal")
        if principal.kind != "AWS":
            noun = {
                "Service": "the AWS service",
                "Federated": "the federated identity provider",
                "CanonicalUser": "the canonical user",
            }[principal.kind]
            return _Admitted("other", None, False, principal.value, f"{noun} {principal.value}")
        value = principal.value
        if value == "*":
            return _Admitted("any", None, False, '{"AWS": "*"}', "every AWS principal")
        if _ACCOUNT_ID.match(value):
            return _Admitted("account", value, True, value, f"AWS account {value}")
        arn = _PRINCIPAL_ARN.match(value)
        if arn:
            account = arn.group("account")
            if "*" in value or "?" in value or not _ACCOUNT_ID.match(account):
                return _Admitted("any", None, False, value, f"every principal matching {value}")
            if arn.group("resource") == "root":
                return _Admitted("account", account, True, value, f"AWS account {account}")
            return _Admitted("account", account, False, value, f"{value} in AWS account {account}")
        if "*" in value or "?" in value:
            return _Admitted("any", None, False, value, f"every principal matching {value}")
        # IAM shows a unique ID (AROA..., AIDA...) where a trusted role or user was deleted.
        return _Admitted("other", None, False, value, f"the unrecognised principal {value}")

    def _lists_platform(self, principals: tuple[Principal, ...]) -> bool:
        return any(self._classify(p).account == self.platform for p in principals)

    # -- external ID --------------------------------------------------------------------

    def _check_external_id(self, statement: Statement) -> None:
        label = statement.label
        clauses = statement.conditions_on(EXTERNAL_ID_KEY)
        if any(self._is_exact_external_id(clause) for clause in clauses):
            # Exactly the organization's ID is required; the statement is right unless
            # another clause rejects that very ID, which locks the platform out.
            if any(
                evaluate(clause, self.external_id, variables=self.variables) is False
                for clause in clauses
            ):
                self._add(
                    "external_id_mismatch",
                    f"{label} also has a condition on sts:ExternalId that {_ORG_ID} does not "
                    "pass, so the platform cannot assume the role through it.",
                    f"Keep only the StringEquals condition on sts:ExternalId in {label}.",
                )
            return
        found = False
        for clause in clauses:
            found = self._classify_weak_external_id(statement, clause) or found
        if found:
            return
        if clauses:
            message = (
                f"{label} checks only that an external ID is present, not that it is {_ORG_ID}."
            )
        else:
            message = (
                f"{label} lets the platform account assume the role without requiring {_ORG_ID}."
            )
        self._add(
            "external_id_missing",
            message,
            f'Add "Condition": {{"StringEquals": {{"sts:ExternalId": "<{_ORG_ID}>"}}}} to {label}.',
        )

    def _is_exact_external_id(self, clause: ConditionClause) -> bool:
        values = self._exact_values(clause)
        return values == {self.external_id}

    def _exact_values(self, clause: ConditionClause) -> set[str] | None:
        """The values of a clause that requires the key to equal one of them exactly.

        None when the clause is not such a check: a missing key passes it (``IfExists``,
        ``ForAllValues:``, negation), it compares case-insensitively or by pattern, or a
        policy variable makes a value unknown until request time.
        """
        if clause.if_exists or clause.set_prefix == "ForAllValues":
            return None
        if clause.operator not in ("StringEquals", "StringLike"):
            return None
        like = clause.operator == "StringLike"
        values: set[str] = set()
        for value in clause.values:
            literal = literal_value(value, like=like, variables=self.variables)
            if literal is None:
                return None
            values.add(literal)
        return values

    def _classify_weak_external_id(self, statement: Statement, clause: ConditionClause) -> bool:
        """Report what is wrong with one non-exact clause; False when it is merely neutral."""
        label = statement.label
        operator = clause.written_operator
        fix_operator = f"Replace {operator} with StringEquals on sts:ExternalId in {label}."
        if clause.operator == "Null":
            if any(value.lower() == "true" for value in clause.values):
                self._add(
                    "external_id_vacuous",
                    f"{label} has a Null condition on sts:ExternalId that matches requests "
                    "sent without any external ID.",
                    f"Remove the Null condition and require {_ORG_ID} with StringEquals in "
                    f"{label}.",
                )
                return True
            return False
        if clause.if_exists or clause.set_prefix == "ForAllValues":
            reason = "which also passes when the caller sends no external ID"
        elif clause.negated:
            reason = "which passes for any other external ID and when none is sent"
        else:
            reason = ""
        if reason:
            self._add(
                "external_id_vacuous",
                f"{label} checks sts:ExternalId with {operator}, {reason}.",
                fix_operator,
            )
            return True
        if clause.operator not in ("StringEquals", "StringLike", "StringEqualsIgnoreCase"):
            self._add(
                "external_id_wrong_operator",
                f"{label} compares sts:ExternalId with {operator}, which is not an exact "
                "string comparison.",
                fix_operator,
            )
            return True

        like = is_like_operator(clause)
        ignore_case = clause.operator == "StringEqualsIgnoreCase"
        matching = [
            value
            for value in clause.values
            if value_matches(
                value,
                self.external_id,
                like=like,
                ignore_case=ignore_case,
                variables=self.variables,
            )
        ]
        wildcards = [v for v in clause.values if like and has_wildcard(v, variables=self.variables)]
        distinct = {
            (literal_value(v, like=like, variables=self.variables) or f"\x00{v}").casefold()
            if ignore_case
            else (literal_value(v, like=like, variables=self.variables) or f"\x00{v}")
            for v in clause.values
        }
        reported = False
        if wildcards:
            self._add(
                "external_id_wildcard",
                f"{label} matches sts:ExternalId against a wildcard pattern with {operator}, "
                "so other external IDs also pass.",
                f"Use StringEquals with {_ORG_ID} as the only value in {label}.",
            )
            reported = True
        if not matching:
            self._add(
                "external_id_mismatch",
                f"{label} requires an external ID other than {_ORG_ID}, so the platform "
                "cannot assume the role through it.",
                f"Set the sts:ExternalId value in {label} to {_ORG_ID} (Organization Owners "
                "see it in the organization settings).",
            )
            return True
        if not wildcards and len(distinct) > 1:
            self._add(
                "external_id_multiple_values",
                f"{label} accepts {len(distinct)} external IDs under {operator}, so an ID "
                f"other than {_ORG_ID} also passes.",
                f"Keep {_ORG_ID} as the only sts:ExternalId value in {label}.",
            )
            reported = True
        if ignore_case and not reported:
            self._add(
                "external_id_case_insensitive",
                f"{label} compares sts:ExternalId with {operator}, so the same ID in other "
                "letter case also passes.",
                fix_operator,
            )
            reported = True
        return reported

    # -- statements that are wrong as a whole -------------------------------------------

    def _check_deny(self, statement: Statement) -> None:
        if statement.not_principal:
            self._add(
                "not_principal_deny",
                f"{statement.label} uses NotPrincipal, which IAM does not accept in a role "
                "trust policy.",
                f'Rewrite {statement.label} with "Principal": "*" and a condition on '
                f"{PRINCIPAL_ACCOUNT_KEY} instead of NotPrincipal.",
            )
            return
        if not statement.covers_action(ASSUME_ROLE):
            return
        # A Deny naming one role or user in the platform account may or may not be the
        # control plane's identity; only the whole account or a wildcard surely covers it.
        entries = [self._classify(p) for p in statement.principals]
        covers_platform = any(
            entry.kind == "any" or (entry.account == self.platform and entry.root)
            for entry in entries
        )
        if not covers_platform:
            return
        # The platform's request is known in two keys; a Deny conditioned on anything else
        # (source IP, tags, time) cannot be decided here and is left to role verification.
        context = {
            EXTERNAL_ID_KEY.lower(): self.external_id,
            PRINCIPAL_ACCOUNT_KEY.lower(): self.platform,
        }
        for clause in statement.conditions:
            if clause.key_lower not in context:
                return
            if evaluate(clause, context[clause.key_lower], variables=self.variables) is not True:
                return
        self._add(
            "deny_blocks_platform",
            f"{statement.label} denies sts:AssumeRole to the platform account even with {_ORG_ID}.",
            f"Remove {statement.label}, or limit it with a StringNotEquals condition on "
            "sts:ExternalId so it only denies requests without the right ID.",
        )

    def _not_principal_allow(self, statement: Statement) -> None:
        self._add(
            "not_principal_allow",
            f"{statement.label} uses NotPrincipal with Allow, which trusts every principal "
            "except the ones it lists.",
            f'Replace NotPrincipal with "Principal": {{"AWS": "{self.root_arn}"}} in '
            f"{statement.label}.",
        )

    def _wildcard_principal(self, statement: Statement, entry: _Admitted) -> None:
        self._add(
            "wildcard_principal",
            f"{statement.label} lets {entry.description} assume the role (principal "
            f"{entry.written}).",
            f'Set the principal of {statement.label} to {{"AWS": "{self.root_arn}"}}.',
        )

    def _extra_principal(
        self, statement: Statement, entry: _Admitted, *, platform_in_statement: bool
    ) -> None:
        besides = ", besides the platform account" if platform_in_statement else ""
        self._add(
            "extra_principal",
            f"{statement.label} lets {entry.description} assume the role{besides}.",
            f"Remove {entry.written} from {statement.label}; only {self.root_arn} may be trusted.",
        )

    def _wrong_account(self, statement: Statement, entry: _Admitted) -> None:
        self._add(
            "wrong_account",
            f"{statement.label} trusts AWS account {entry.account}, not the platform account "
            f"{self.platform}.",
            f"Replace {entry.written} with {self.root_arn} in {statement.label}.",
        )

    def _assume_role_missing(self, statements: list[Statement]) -> None:
        labels = " and ".join(statement.label for statement in statements)
        verb = "names" if len(statements) == 1 else "name"
        self._add(
            "assume_role_missing",
            f"{labels} {verb} the platform account but no Allow statement grants it "
            '"sts:AssumeRole".',
            f'Add "sts:AssumeRole" to the Action of {statements[0].label}.',
        )

    def _add(self, code: str, message: str, fix: str) -> None:
        self.problems.append(TrustPolicyProblem(code, message, fix))


def _deduplicated(problems: list[TrustPolicyProblem]) -> list[TrustPolicyProblem]:
    seen: set[TrustPolicyProblem] = set()
    result: list[TrustPolicyProblem] = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
