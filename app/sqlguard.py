"""The SQL guard: the first of bichat's three security layers for model-written SQL.

``check_sql`` accepts exactly one read-only PostgreSQL query and returns the SQL to run, or
raises ``UnsafeSQLError`` with a rule ``code`` and a one-line message a model can act on. It
is pure Python (sqlglot, postgres dialect) and needs no database. The checks are layered,
each an allowlist wherever one is possible:

1. **Text**: a length cap; the token stream has no Unicode-escaped names (``U&"..."``) and
   no ``<=>`` (which sqlglot would silently turn into ``IS NOT DISTINCT FROM``). Parsing is
   bounded: the parser may step back (to parse tokens again) over at most as many tokens as
   the query has plus ``MAX_BACKTRACK`` (sqlglot parses nested ``ARRAY[...]`` and other type
   names before brackets twice per level: exponential time), and nesting deeper than
   Python's recursion limit allows is ``too_complex`` too.
2. **Statements**: the parse yields exactly one statement (empty ones are ignored), and it is
   a query: ``SELECT``, a set operation, ``VALUES``, optionally under ``WITH``.
3. **Tree**: every node of the parse tree must be a known, read-only construct.
   Data-modifying or DDL nodes anywhere (also inside ``WITH``) are ``not_read_only``;
   ``INTO`` and locking clauses are ``forbidden_clause``; every function call is looked up,
   under the name PostgreSQL will see (read from the call's text in the SQL that runs, so
   after the other rules, once that SQL is rendered), in the function allowlist (a schema,
   if written, must be ``pg_catalog``), and bare ``user``/``current_role`` count as calls;
   casts may only name plain data types (no ``reg*`` types); relations may not be system catalogs
   and, when a table allowlist is given, must be on it (or, unqualified, name a CTE in
   scope: a schema-qualified name never means a CTE) with no schema other than ``public``
   or ``bi``; private column names appear nowhere (columns, fields of whole rows, aliases);
   ``TABLESAMPLE`` takes only ``BERNOULLI`` or ``SYSTEM``; unquoted names must be names
   PostgreSQL reads as names (not reserved words); any other node type is
   ``unsupported_syntax``. Names are compared as PostgreSQL resolves them: quoted as
   written, unquoted with ASCII letters lowercased.
4. **Normalisation**: the SQL returned is generated from the checked tree, then parsed and
   checked again; it must reproduce itself exactly, so the text that runs is a text that
   passes every rule above.
5. **Value caps** (work a timeout cannot stop, see the section below): literal counts,
   widths, type lengths and patterns are bounded (``too_large``), and with ``value_caps``
   the SQL returned checks computed values at run time where they are built and where a
   costly function, cast or operator gets them; the capped SQL must again reproduce itself.

Anything sqlglot raises on odd input becomes ``parse_error``: ``check_sql`` raises nothing
but ``UnsafeSQLError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import NoReturn, cast

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import Token, TokenType

from app.errors import BichatError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_SQL_LENGTH",
    "VALUE_CAPS",
    "UnsafeSQLError",
    "ValueCaps",
    "check_sql",
]

MAX_SQL_LENGTH = 20_000
# How many tokens the parser may step back over (and so parse again): as many as the query
# has, plus this. Legitimate queries stay far below: the defog corpus at most 14 in all, a
# flat ARRAY[...] literal one per token, a 2-D one three; nested ARRAY[1, ARRAY[...]] needs
# four times as many per level of nesting.
MAX_BACKTRACK = 2_000

_DIALECT = Dialect.get_or_raise("postgres")


class UnsafeSQLError(BichatError):
    """The SQL was refused by the guard; ``code`` names the rule it broke."""

    code = "unsafe_sql"


# --------------------------------------------------------------------------------------
# Allowlists. Function names are PostgreSQL's (lowercase), as they appear in the SQL that
# runs. Left out on purpose: anything that reads files, sleeps, locks, signals, notifies,
# reads or changes settings, touches sequences or large objects, opens connections
# (dblink), runs a string as SQL (query_to_xml, ts_stat, ts_rewrite ...), reads the
# catalogs or the session (pg_*, has_*_privilege, to_reg*, version, current_user ...).
# --------------------------------------------------------------------------------------

AGGREGATE_FUNCTIONS = frozenset(
    {
        "any_value", "array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and",
        "bool_or", "corr", "count", "covar_pop", "covar_samp", "every", "grouping",
        "json_agg", "json_object_agg", "jsonb_agg", "jsonb_object_agg", "max", "min", "mode",
        "percentile_cont", "percentile_disc", "regr_avgx", "regr_avgy", "regr_count",
        "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
        "stddev", "stddev_pop", "stddev_samp", "string_agg", "sum", "var_pop", "var_samp",
        "variance",
    }
)  # fmt: skip

WINDOW_FUNCTIONS = frozenset(
    {
        "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
        "ntile", "percent_rank", "rank", "row_number",
    }
)  # fmt: skip

MATH_FUNCTIONS = frozenset(
    {
        "abs", "acos", "asin", "atan", "atan2", "cbrt", "ceil", "ceiling", "cos", "cot",
        "degrees", "div", "exp", "factorial", "floor", "gcd", "lcm", "ln", "log", "log10",
        "min_scale", "mod", "pi", "pow", "power", "radians", "random", "round", "scale",
        "sign", "sin", "sqrt", "tan", "trim_scale", "trunc", "width_bucket",
    }
)  # fmt: skip

STRING_FUNCTIONS = frozenset(
    {
        "ascii", "bit_length", "btrim", "char_length", "character_length", "chr", "concat",
        "concat_ws", "decode", "encode", "format", "initcap", "left", "length", "lower",
        "lpad", "ltrim", "md5", "normalize", "octet_length", "overlay", "position",
        "regexp_count", "regexp_instr", "regexp_like", "regexp_match", "regexp_matches",
        "regexp_replace", "regexp_split_to_array", "regexp_split_to_table", "regexp_substr",
        "repeat", "replace", "reverse", "right", "rpad", "rtrim", "sha224", "sha256",
        "sha384", "sha512", "split_part", "starts_with", "string_to_array",
        "string_to_table", "strpos", "substr", "substring", "to_hex", "translate", "trim",
        "upper",
    }
)  # fmt: skip

DATE_TIME_FUNCTIONS = frozenset(
    {
        "age", "clock_timestamp", "date", "date_bin", "date_part", "date_trunc", "extract",
        "isfinite", "justify_days", "justify_hours", "justify_interval", "make_date",
        "make_interval", "make_time", "make_timestamp", "make_timestamptz", "now",
        "statement_timestamp", "timezone", "to_char", "to_date", "to_number",
        "to_timestamp", "transaction_timestamp",
    }
)  # fmt: skip

JSON_FUNCTIONS = frozenset(
    {
        "array_to_json", "json_array_elements", "json_array_elements_text",
        "json_array_length", "json_build_array", "json_build_object", "json_each",
        "json_each_text", "json_extract_path", "json_extract_path_text", "json_object",
        "json_object_keys", "json_strip_nulls", "json_to_record", "json_to_recordset",
        "json_typeof", "jsonb_array_elements", "jsonb_array_elements_text",
        "jsonb_array_length", "jsonb_build_array", "jsonb_build_object", "jsonb_each",
        "jsonb_each_text", "jsonb_extract_path", "jsonb_extract_path_text", "jsonb_insert",
        "jsonb_object", "jsonb_object_keys", "jsonb_path_exists", "jsonb_path_match",
        "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
        "jsonb_pretty", "jsonb_set", "jsonb_strip_nulls", "jsonb_to_record",
        "jsonb_to_recordset", "jsonb_typeof", "row_to_json", "to_json", "to_jsonb",
    }
)  # fmt: skip

ARRAY_FUNCTIONS = frozenset(
    {
        "array_append", "array_cat", "array_dims", "array_length", "array_lower",
        "array_ndims", "array_position", "array_positions", "array_prepend", "array_remove",
        "array_replace", "array_to_string", "array_upper", "cardinality", "trim_array",
    }
)  # fmt: skip

CONDITIONAL_FUNCTIONS = frozenset(
    {"coalesce", "greatest", "least", "nullif", "num_nonnulls", "num_nulls"}
)

TEXT_SEARCH_FUNCTIONS = frozenset(
    {
        "array_to_tsvector", "numnode", "phraseto_tsquery", "plainto_tsquery", "querytree",
        "setweight", "strip", "to_tsquery", "to_tsvector", "ts_delete", "ts_filter",
        "ts_headline", "ts_rank", "ts_rank_cd", "tsvector_to_array", "websearch_to_tsquery",
    }
)  # fmt: skip

SET_RETURNING_FUNCTIONS = frozenset({"generate_series", "generate_subscripts", "unnest"})

VECTOR_FUNCTIONS = frozenset(  # pgvector
    {
        "binary_quantize", "cosine_distance", "hamming_distance", "inner_product",
        "jaccard_distance", "l1_distance", "l2_distance", "l2_norm", "l2_normalize",
        "subvector", "vector_dims", "vector_norm",
    }
)  # fmt: skip

SYNTAX_CALLS = frozenset({"all", "any", "row", "some"})  # x = ANY(...), ROW(1, 2)

ALLOWED_FUNCTIONS = (
    AGGREGATE_FUNCTIONS
    | WINDOW_FUNCTIONS
    | MATH_FUNCTIONS
    | STRING_FUNCTIONS
    | DATE_TIME_FUNCTIONS
    | JSON_FUNCTIONS
    | ARRAY_FUNCTIONS
    | CONDITIONAL_FUNCTIONS
    | TEXT_SEARCH_FUNCTIONS
    | SET_RETURNING_FUNCTIONS
    | VECTOR_FUNCTIONS
    | SYNTAX_CALLS
)

# sqlglot models these as functions, but they are written (and run) as SQL syntax.
SYNTAX_FUNCTION_NODES: frozenset[type[exp.Expr]] = frozenset(
    {
        # boolean logic, conditionals, predicates
        exp.And, exp.Or, exp.Xor, exp.Case, exp.If, exp.Exists, exp.Any, exp.All,
        exp.RegexpLike, exp.RegexpILike, exp.Collate,
        # current date and time (CURRENT_DATE, LOCALTIMESTAMP ...)
        exp.CurrentDate, exp.CurrentTime, exp.CurrentTimestamp, exp.Localtime,
        exp.Localtimestamp,
        # arrays (ARRAY[...], @>, <@, &&) and JSON operators (->, ->>, #>, #>>, ?, ?|, ?&, @>)
        exp.Array, exp.ArrayContains, exp.ArrayContainsAll, exp.ArrayContainedBy,
        exp.ArrayOverlaps, exp.JSONExtract, exp.JSONExtractScalar, exp.JSONBExtract,
        exp.JSONBExtractScalar, exp.JSONBContains, exp.JSONBContainsTopKey,
        exp.JSONBContainsAnyTopKeys, exp.JSONBContainsAllTopKeys,
        # text search: tsvector @@ tsquery
        exp.MatchAgainst,
    }
)  # fmt: skip

# Every other node type a query may contain (relations and types have their own checks).
SYNTAX_NODES: frozenset[type[exp.Expr]] = frozenset(
    {
        # query structure
        exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.Values,
        exp.With, exp.CTE, exp.From, exp.Join, exp.Lateral, exp.Where, exp.Group,
        exp.Having, exp.Order, exp.Ordered, exp.Limit, exp.Offset, exp.Fetch,
        exp.LimitOptions, exp.Distinct, exp.Window, exp.WindowSpec, exp.Filter,
        exp.WithinGroup, exp.Cube, exp.Rollup, exp.GroupingSets, exp.TableSample,
        exp.TableAlias, exp.Alias, exp.Aliases, exp.ColumnDef,
        # names and values
        exp.Identifier, exp.Column, exp.Star, exp.Dot, exp.Var, exp.Literal, exp.Null,
        exp.Boolean, exp.Interval, exp.DataTypeParam, exp.Bracket, exp.Slice, exp.Tuple,
        exp.Paren, exp.ByteString, exp.RawString, exp.BitString, exp.HexString,
        exp.UnicodeString, exp.AtTimeZone, exp.JSONPath, exp.JSONPathKey, exp.JSONPathRoot,
        exp.JSONPathSubscript,
        # operators and predicates
        exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Pow, exp.Neg, exp.Not,
        exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.Like, exp.ILike,
        exp.SimilarTo, exp.In, exp.Between, exp.NullSafeEQ, exp.NullSafeNEQ, exp.DPipe,
        exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot,
        exp.BitwiseLeftShift, exp.BitwiseRightShift, exp.Distance, exp.Overlaps,
        exp.Escape, exp.Cast, exp.Extract,
    }
)  # fmt: skip

ALLOWED_DATA_TYPES = frozenset(
    {
        "ARRAY", "BIGINT", "BIT", "BOOLEAN", "BPCHAR", "CHAR", "DATE", "DATEMULTIRANGE",
        "DATERANGE", "DECIMAL", "DOUBLE", "FLOAT", "INET", "INT", "INT4MULTIRANGE",
        "INT4RANGE", "INT8MULTIRANGE", "INT8RANGE", "INTERVAL", "JSON", "JSONB", "MONEY",
        "NCHAR", "NUMMULTIRANGE", "NUMRANGE", "NVARCHAR", "SMALLINT", "TEXT", "TIME",
        "TIMESTAMP", "TIMESTAMPTZ", "TIMETZ", "TSMULTIRANGE", "TSRANGE", "TSTZMULTIRANGE",
        "TSTZRANGE", "UUID", "VARBINARY", "VARCHAR", "VECTOR",
    }
)  # fmt: skip
ALLOWED_NAMED_TYPES = frozenset({"cidr", "halfvec", "macaddr", "sparsevec", "tsquery", "tsvector"})
ALLOWED_OBJECT_IDENTIFIER_TYPES = frozenset({"regconfig"})  # text-search configuration names

# Bare words PostgreSQL evaluates as session functions (sqlglot parses some as columns).
SESSION_KEYWORDS = frozenset(
    {
        "current_catalog", "current_role", "current_schema", "current_user", "session_user",
        "system_user", "user",
    }
)  # fmt: skip

# PostgreSQL's reserved key words: never a table or column name unless double-quoted.
RESERVED_WORDS = frozenset(
    {
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both",
        "case", "cast", "check", "collate", "column", "constraint", "create",
        "current_catalog", "current_date", "current_role", "current_time",
        "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct",
        "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant",
        "group", "having", "in", "initially", "intersect", "into", "lateral", "leading",
        "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or",
        "order", "placing", "primary", "references", "returning", "select", "session_user",
        "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true",
        "union", "unique", "user", "using", "variadic", "when", "where", "window", "with",
    }
)  # fmt: skip

# TABLESAMPLE names a sampling handler function: only PostgreSQL's two built-in methods.
TABLESAMPLE_METHODS = frozenset({"bernoulli", "system"})

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
TABLE_SCHEMAS = frozenset({"public", "bi"})
FUNCTION_SCHEMAS = frozenset({"pg_catalog"})

# First words of PostgreSQL statements that are not queries (for statements sqlglot can't parse).
STATEMENT_KEYWORDS = frozenset(
    {
        "ABORT", "ALTER", "ANALYSE", "ANALYZE", "BEGIN", "CALL", "CHECKPOINT", "CLOSE",
        "CLUSTER", "COMMENT", "COMMIT", "COPY", "CREATE", "DEALLOCATE", "DECLARE", "DELETE",
        "DISCARD", "DO", "DROP", "END", "EXECUTE", "EXPLAIN", "FETCH", "GRANT", "IMPORT",
        "INSERT", "LISTEN", "LOAD", "LOCK", "MERGE", "MOVE", "NOTIFY", "PREPARE", "REASSIGN",
        "REFRESH", "REINDEX", "RELEASE", "RESET", "REVOKE", "ROLLBACK", "SAVEPOINT",
        "SECURITY", "SET", "SHOW", "START", "TRUNCATE", "UNLISTEN", "UPDATE", "VACUUM",
    }
)  # fmt: skip

STATEMENT_NODES: tuple[type[exp.Expr], ...] = (
    exp.DML, exp.DDL, exp.Command, exp.Set, exp.Transaction, exp.Commit, exp.Rollback,
    exp.Use, exp.Pragma, exp.Describe, exp.Show, exp.Analyze, exp.Grant, exp.Revoke,
    exp.Declare,
)  # fmt: skip

_FUNCTION_HINT = (
    "use only aggregates, math, string, date/time, JSON, array, window, conditional, "
    "text-search and pgvector functions"
)
_READ_ONLY_HINT = (
    "send one read-only query: SELECT, WITH ... SELECT, UNION/INTERSECT/EXCEPT or VALUES"
)
_IDENTIFIER = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class ValueCaps:
    """Bounds on the values a query computes (layer 5). Literal counts, widths, type lengths
    and patterns are checked here; computed values are checked by the database function
    ``function`` (migration 0008), which the SQL is rewritten to call. The byte figures are
    what one uninterruptible function call may be given (see README, "Work a timeout cannot
    stop")."""

    function: str = "bichat_capped"
    value_bytes: int = 1_000_000  # any computed value a costly function or operator gets
    needle_bytes: int = 64  # what strpos, replace, split_part ... search for (x the 1 MB value)
    charset_bytes: int = 32  # the characters translate and trim work with
    text_search_bytes: int = 100_000  # what ts_headline marks up
    tsquery_text_bytes: int = 20_000  # text parsed into a tsquery (quadratic in words)
    containment_bytes: int = 16_384  # each side of @>, <@, && (arrays and jsonb: n x m)
    count: int = 1_000_000  # repeat/lpad/rpad counts, format widths, type lengths

    def bytes_for(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_bytes"))


VALUE_CAPS = ValueCaps()


@dataclass(frozen=True)
class _Policy:
    allowed_tables: frozenset[str] | None
    private_columns: frozenset[str] = frozenset()
    table_schemas: tuple[tuple[str, str], ...] | None = None
    value_caps: ValueCaps | None = None


def check_sql(
    sql: str,
    allowed_tables: set[str] | None = None,
    *,
    private_columns: Iterable[str] = (),
    table_schemas: Mapping[str, str] | None = None,
    value_caps: ValueCaps | None = None,
) -> str:
    """Return the normalised SQL to run, or raise ``UnsafeSQLError``.

    ``allowed_tables``: the relations the query may read (lowercase, as PostgreSQL stores
    them); ``None`` allows any relation except the system catalogs.
    ``private_columns``: column names no query may mention (``private_column``).
    ``table_schemas``: the schema each table is read from; the SQL returned names every such
    table with its schema (``customers`` -> ``bi.customers``), whatever schema was written.
    ``value_caps``: the SQL returned checks the size of computed values at run time (the
    database must have ``value_caps.function``); literal bounds are checked in any case.
    """
    policy = _Policy(
        frozenset(allowed_tables) if allowed_tables is not None else None,
        frozenset(private_columns),
        tuple(sorted(table_schemas.items())) if table_schemas else None,
        value_caps,
    )
    try:
        return _cached_check(sql, policy)
    except UnsafeSQLError:
        raise
    except RecursionError as error:
        raise UnsafeSQLError(
            "the query is nested too deeply: simplify it", code="too_complex"
        ) from error
    except Exception as error:  # sqlglot raises many exception types on odd input
        raise UnsafeSQLError(_parse_error_message(error), code="parse_error") from error


@lru_cache(maxsize=4096)
def _cached_check(sql: str, policy: _Policy) -> str:
    """The guard is a pure function of its inputs: identical SQL is checked once (refusals
    are not cached; they raise every time)."""
    return _check_and_normalise(sql, policy)


def _check_and_normalise(sql: str, policy: _Policy) -> str:
    if not isinstance(sql, str):
        _reject("parse_error", "the query must be a string of SQL text")
    if len(sql) > MAX_SQL_LENGTH:
        _reject("too_long", f"the query is longer than {MAX_SQL_LENGTH} characters: shorten it")
    normalised, parsed = _normalised(_parse_single_statement(sql), policy)
    if policy.value_caps is None:
        return normalised
    return _capped(normalised, parsed, policy, policy.value_caps)


def _normalised(checked: exp.Expr, policy: _Policy) -> tuple[str, exp.Expr]:
    """Layers 3 and 4: the SQL to run, and its parse (untouched by rendering)."""
    normalised, checked_type, checked_hash = _checked_text(checked, policy)
    reparsed = _parse_single_statement(normalised)
    if type(reparsed) is checked_type and hash(reparsed) == checked_hash:
        return normalised, reparsed  # the text that runs parses to exactly the tree that passed
    # Otherwise prove it the long way: the text's own parse must pass every rule and render
    # back to itself.
    if _checked_text(reparsed, policy)[0] != normalised:
        _reject(
            "unsupported_syntax",
            "the query uses syntax the guard cannot reproduce exactly: "
            "rewrite it with plainer SELECT syntax",
        )
    return normalised, _parse_single_statement(normalised)


def _checked_text(statement: exp.Expr, policy: _Policy) -> tuple[str, type[exp.Expr], int]:
    """The SQL of a parsed statement after every rule of layer 3, with what "the same tree"
    means for it (sqlglot's ==): the tree's type and hash, taken before rendering (rendering
    may change the tree in place, and copying it first would cost as much as the rendering)."""
    functions = _check_tree(statement, policy)
    checked_type, checked_hash = type(statement), hash(statement)
    text, names = _render_checking_functions(statement, functions, policy)
    _check_literal_bounds(statement, names, policy.value_caps or VALUE_CAPS)
    return text, checked_type, checked_hash


def _capped(normalised: str, parsed: exp.Expr, policy: _Policy, caps: ValueCaps) -> str:
    """Layer 5 on the parse of the normalised SQL (which holds every node rendering adds,
    such as the casts in ROUND(CAST(x AS DECIMAL), 2)): the SQL that runs. It must parse to
    the tree that was capped, or else be left unchanged by the whole guard."""
    names = _function_names(parsed, _function_calls(parsed), policy)
    if not _cap_values(parsed, names, caps):
        return normalised  # nothing to check at run time
    capped_type, capped_hash = type(parsed), hash(parsed)
    capped = _generate(parsed, copy=False)
    reparsed = _parse_single_statement(capped)
    if type(reparsed) is capped_type and hash(reparsed) == capped_hash:
        return capped
    again, again_parsed = _normalised(reparsed, policy)
    if again != capped or _capped(again, again_parsed, policy, caps) != capped:
        _reject(
            "unsupported_syntax",
            "the query uses syntax the guard cannot reproduce exactly: "
            "rewrite it with plainer SELECT syntax",
        )
    return capped


def _function_calls(statement: exp.Expr) -> list[exp.Func]:
    """The nodes ``_check_tree`` returns as function calls, in a tree that passed it."""
    return [
        node
        for node in statement.walk()
        if isinstance(node, exp.Func)
        and type(node) not in SYNTAX_NODES
        and type(node) not in SYNTAX_FUNCTION_NODES
    ]


def _function_names(
    statement: exp.Expr, functions: list[exp.Func], policy: _Policy
) -> dict[int, str]:
    """The names ``functions`` are called by (and checked under), by node id, from a
    rendering of a copy: rendering changes some nodes in place (UNNEST ... WITH ORDINALITY),
    and the tree is rendered again once its values are capped."""
    probe = statement.copy()
    pairs = list(zip(probe.walk(), statement.walk(), strict=True))
    wanted = {id(node) for node in functions}
    original = {id(copy): node for copy, node in pairs}
    probe_functions = [cast(exp.Func, copy) for copy, node in pairs if id(node) in wanted]
    _, names = _render_checking_functions(probe, probe_functions, policy)
    return {id(original[key]): name for key, name in names.items()}


def _check_tree(statement: exp.Expr, policy: _Policy) -> list[exp.Func]:
    """Every rule of layer 3 in one walk, but function names (they are checked as rendered,
    see ``_render_checking_functions``): returns the function calls to check. Then tables get
    their schemas (if the policy says)."""
    tables: list[exp.Table] = []
    functions: list[exp.Func] = []
    for node in statement.walk():
        if _check_node(node, policy.allowed_tables):
            functions.append(cast(exp.Func, node))
        elif isinstance(node, exp.Identifier):
            _check_private_name(node, policy.private_columns)
        elif isinstance(node, exp.Table):
            tables.append(node)
    if policy.table_schemas:
        _qualify_tables(tables, dict(policy.table_schemas))
    return functions


def _check_private_name(identifier: exp.Identifier, private: frozenset[str]) -> None:
    """A private column's name may appear nowhere: not as a column, not as a field of a
    whole-row value (``(c).email``), not as an alias that could pass one on."""
    if _normalised_name(identifier) in private:
        _reject(
            "private_column",
            f"column {_normalised_name(identifier)} is private and cannot be queried: "
            f"leave out {', '.join(sorted(private))}",
        )


def _qualify_tables(tables: Iterable[exp.Table], table_schemas: Mapping[str, str]) -> None:
    """Name each known table with the schema it must be read from (CTE names are left alone)."""
    for table in tables:
        if not isinstance(table.this, exp.Identifier):
            continue
        name = _normalised_name(table.this)
        if name not in table_schemas or _is_cte_reference(table, name):
            continue
        written = _optional_name(table.args.get("db"))
        if written is not None and written != table_schemas[name]:
            _reject(
                "forbidden_relation",
                f"relation {written}.{name} is not allowed: write {name} without a schema",
            )
        table.set("db", exp.to_identifier(table_schemas[name]))


def _generate(statement: exp.Expr, *, copy: bool = True) -> str:
    return statement.sql(
        dialect=_DIALECT, unsupported_level=ErrorLevel.RAISE, comments=False, copy=copy
    )


_GENERATOR_CLASS: object = _DIALECT.generator_class
if _GENERATOR_CLASS is not PostgresGenerator:  # the subclass below must be the dialect's
    raise ImportError("sqlglot's postgres dialect no longer renders with PostgresGenerator")


class _RecordingGenerator(PostgresGenerator):
    """sqlglot's PostgreSQL generator, keeping the text it renders for each function call:
    the very text that goes into the SQL that runs."""

    def __init__(self) -> None:
        super().__init__(dialect=_DIALECT, unsupported_level=ErrorLevel.RAISE, comments=False)
        self.rendered: dict[int, list[str]] = {}

    def sql(
        self, expression: str | exp.Expr | None, key: str | None = None, comment: bool = True
    ) -> str:
        text = super().sql(expression, key, comment)
        if key is None and isinstance(expression, exp.Func):
            self.rendered.setdefault(id(expression), []).append(text)
        return text


def _render_checking_functions(
    statement: exp.Expr, functions: list[exp.Func], policy: _Policy
) -> tuple[str, dict[int, str]]:
    """The SQL of ``statement`` (rendered in place), once each of ``functions`` (nodes of
    it) is known to be called, in that SQL, by an allowed name; and those names by node id."""
    generator = _RecordingGenerator()
    text = generator.generate(statement, copy=False)
    allowed = ALLOWED_FUNCTIONS
    if policy.value_caps is not None:
        allowed = allowed | {policy.value_caps.function}
    names: dict[int, str] = {}
    for node in functions:
        rendered = generator.rendered.get(id(node))
        if rendered is None or _has_clauses_after_call(node):
            rendered = [_generate(_without_clauses_after_call(node))]
        for call in rendered:
            names[id(node)] = _check_function(node, call, allowed)
    return text, names


def _reject(code: str, message: str) -> NoReturn:
    raise UnsafeSQLError(message, code=code)


# --- layers 1 and 2: text, tokens, statements ---------------------------------------------


def _parse_single_statement(sql: str) -> exp.Expr:
    tokens = _DIALECT.tokenize(sql)
    _check_tokens(tokens)
    statements = _parse_statements(tokens, sql)
    if not statements:
        _reject("empty_query", f"the query is empty: {_READ_ONLY_HINT}")
    if len(statements) > 1:
        _reject(
            "multiple_statements",
            f"found {len(statements)} statements: {_READ_ONLY_HINT}, "
            "with no second statement after a semicolon",
        )
    if not _is_query(statements[0]):
        _reject_statement(tokens)
    return statements[0]


_PARSER_CLASS: object = _DIALECT.parser_class
if _PARSER_CLASS is not PostgresParser:  # the subclass below must be the dialect's parser
    raise ImportError("sqlglot's postgres dialect no longer parses with PostgresParser")


class _BoundedParser(PostgresParser):
    """sqlglot's PostgreSQL parser with a budget for backtracking.

    The parser tries some constructs one way, steps back and parses them again another way
    (``ARRAY[...]``, ``JSONB(...)`` and other type names followed by brackets are parsed as a
    type first); nested, that doubles the work per level, and 100 characters of nested
    ``ARRAY[1, ARRAY[...]]`` took minutes. Every step back goes through ``_retreat``: counting
    the tokens it steps back over bounds how often any token is parsed, hence the time."""

    def parse(self, raw_tokens: list[Token], sql: str) -> list[exp.Expr | None]:
        self._backtracked = 0
        self._backtrack_budget = len(raw_tokens) + MAX_BACKTRACK
        return super().parse(raw_tokens, sql)

    def _retreat(self, index: int) -> None:
        if index < self._index:
            self._backtracked += self._index - index
            if self._backtracked > self._backtrack_budget:
                _reject(
                    "too_complex",
                    "the query is too complex to check (deeply nested ARRAY[...] or "
                    "type constructors): simplify it",
                )
        super()._retreat(index)


def _parse_statements(tokens: list[Token], sql: str) -> list[exp.Expr]:
    try:
        parsed = _BoundedParser(dialect=_DIALECT, error_level=ErrorLevel.IMMEDIATE).parse(
            tokens, sql
        )
    except ParseError:
        if _statement_kind(tokens) in STATEMENT_KEYWORDS:
            _reject_statement(tokens)  # say "not read-only" even when sqlglot cannot parse it
        raise
    return [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]


def _reject_statement(tokens: list[Token]) -> NoReturn:
    kind = _statement_kind(tokens)
    shown = kind if _WORD.fullmatch(kind) else "these"
    _reject("not_read_only", f"{shown} statements are not allowed: {_READ_ONLY_HINT}")


def _check_tokens(tokens: list[Token]) -> None:
    for previous, token in pairwise(tokens):
        if _is_unicode_escape_prefix(previous, token):
            _reject(
                "parse_error",
                'Unicode-escaped names and strings (U&"...") are not '
                "supported: write names plainly (and put spaces around the & operator)",
            )
        if token.token_type == TokenType.NULLSAFE_EQ:
            _reject(
                "unsupported_syntax",
                "the <=> operator is not supported: use "
                "cosine_distance(a, b) for pgvector, IS NOT DISTINCT FROM for comparisons",
            )


def _is_unicode_escape_prefix(previous: Token, token: Token) -> bool:
    return (
        previous.text.upper() == "U"
        and token.token_type == TokenType.AMP
        and token.start == previous.end + 1
    )


def _is_query(statement: exp.Expr) -> bool:
    while isinstance(statement, exp.Subquery):
        statement = statement.this
    return isinstance(statement, exp.Select | exp.SetOperation | exp.Values)


def _statement_kind(tokens: list[Token]) -> str:
    words = [token.text.upper() for token in tokens if token.token_type != TokenType.SEMICOLON]
    return words[0] if words else ""


def _parse_error_message(error: Exception) -> str:
    detail = str(error)
    if isinstance(error, ParseError) and error.errors:
        first = error.errors[0]
        detail = (
            f"{first.get('description')} at line {first.get('line')}, column {first.get('col')}"
        )
    elif not isinstance(error, ParseError | TokenError):
        detail = type(error).__name__
    return _one_line(f"could not parse the query ({detail}): {_READ_ONLY_HINT} in valid PostgreSQL")


def _one_line(text: str, limit: int = 300) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    line = " ".join(plain.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --- layer 3: every node of the tree ------------------------------------------------------


def _check_node(node: exp.Expr, allowed_tables: Set[str] | None) -> bool:
    """Check one node; True for a function call, whose name is yet to be checked."""
    _check_clauses(node)
    if isinstance(node, exp.Table):
        _check_table(node, allowed_tables)
    elif isinstance(node, exp.Column):
        _check_column(node)
    elif isinstance(node, exp.Identifier):
        _check_identifier(node)
    elif isinstance(node, exp.DataType | exp.ObjectIdentifier):
        _check_type(node)
    elif isinstance(node, exp.TableSample):
        _check_table_sample(node)
    elif type(node) in SYNTAX_NODES or type(node) in SYNTAX_FUNCTION_NODES:
        pass
    elif isinstance(node, exp.Func):
        if isinstance(node, exp.Anonymous) and _is_quoted(node.this):
            _reject(
                "forbidden_function",
                f'quoted function name "{node.name}" is not allowed: '
                f"write function names without double quotes; {_FUNCTION_HINT}",
            )
        return True
    else:
        _reject(
            "unsupported_syntax",
            f"unsupported SQL construct ({node.key}): rewrite the "
            "query with standard PostgreSQL SELECT syntax",
        )
    return False


def _check_clauses(node: exp.Expr) -> None:
    """No INTO, no locking, no statement nested in the query, no SELECT without columns."""
    if isinstance(node, exp.Into):
        _reject(
            "forbidden_clause",
            "SELECT ... INTO is not allowed: remove the INTO clause; "
            "query results are returned to you directly",
        )
    if isinstance(node, exp.Lock):
        _reject(
            "forbidden_clause",
            "locking clauses (FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE) "
            "are not allowed: remove them, a read-only query needs no locks",
        )
    if isinstance(node, STATEMENT_NODES):
        _reject(
            "not_read_only",
            f"{node.key.upper()} is not allowed anywhere in the query, "
            f"also not inside WITH: {_READ_ONLY_HINT}",
        )
    if isinstance(node, exp.Select) and not node.expressions:
        _reject(
            "parse_error",
            "a SELECT without a column list is not supported: "
            "name the columns to return (or use SELECT *)",
        )


def _check_table_sample(sample: exp.TableSample) -> None:
    """``TABLESAMPLE BERNOULLI (p)`` or ``SYSTEM (p)``, optionally ``REPEATABLE (seed)``."""
    method = sample.args.get("method")
    known = isinstance(method, exp.Var) and method.name.lower() in TABLESAMPLE_METHODS
    other_parts = {key for key, value in sample.args.items() if value is not None} - {
        "method",
        "percent",
        "seed",
    }
    if not known or other_parts:
        _reject(
            "unsupported_syntax",
            "only TABLESAMPLE BERNOULLI (percent) or TABLESAMPLE SYSTEM (percent) is "
            "supported, optionally with REPEATABLE (seed)",
        )


# identifiers and columns


def _check_identifier(identifier: exp.Identifier) -> None:
    """Unquoted names must be names PostgreSQL would read as names (sqlglot is lenient)."""
    if _is_quoted(identifier):
        return
    text = str(identifier.this)
    reserved = _is_leading_name_part(identifier) and text.lower() in RESERVED_WORDS
    if reserved or not _IDENTIFIER.fullmatch(text):
        _reject(
            "parse_error",
            f"{text!r} is not a valid name here: double-quote names that are "
            "reserved words or contain special characters",
        )


def _is_leading_name_part(identifier: exp.Identifier) -> bool:
    """The first part of a table or column name (``a`` in ``a.b.c``): never a reserved word."""
    parent = identifier.parent
    if not isinstance(parent, exp.Table | exp.Column):
        return False
    parts = (parent.args.get(key) for key in ("catalog", "db", "table", "this"))
    return next((part for part in parts if part is not None), None) is identifier


def _check_column(column: exp.Column) -> None:
    """Unqualified ``user``, ``current_role`` ...: PostgreSQL reads these as session functions."""
    name = column.this
    bare = column.args.get("table") is None and not _is_quoted(name)
    if bare and isinstance(name, exp.Identifier) and _normalised_name(name) in SESSION_KEYWORDS:
        _reject(
            "forbidden_function",
            f"{_normalised_name(name)} is not allowed: "
            "session and role information is not available to queries",
        )


def _check_function(node: exp.Func, call: str, allowed: Set[str]) -> str:
    """``call``, the SQL of ``node``, must be ``name(...)`` with an allowed name: the name."""
    name = _called_name(call)
    if name is None or name not in allowed:
        shown = name or _one_line(call, limit=60)
        _reject("forbidden_function", f"function {shown} is not allowed: {_FUNCTION_HINT}")
    schema = _function_schema(node)
    if schema is not None and schema not in FUNCTION_SCHEMAS:
        _reject(
            "forbidden_function",
            f"function {schema}.{name} is not allowed: call built-in "
            "functions without a schema prefix",
        )
    return name


def _has_clauses_after_call(node: exp.Func) -> bool:
    return node.args.get("alias") is not None or node.args.get("offset") is not None


def _without_clauses_after_call(node: exp.Func) -> exp.Func:
    """UNNEST(...) AS u(x) WITH ORDINALITY: the call without what follows it."""
    if not _has_clauses_after_call(node):
        return node
    node = node.copy()
    node.set("alias", None)
    node.set("offset", None)
    return node


def _called_name(call: str) -> str | None:
    """The function name PostgreSQL will see, if ``call`` is ``name(...)``."""
    tokens = _DIALECT.tokenize(call)
    if len(tokens) < 3 or tokens[1].token_type != TokenType.L_PAREN:
        return None
    if tokens[0].token_type == TokenType.IDENTIFIER or not _WORD.fullmatch(tokens[0].text):
        return None
    if _closing_paren(tokens, 1) != len(tokens) - 1:
        return None
    return tokens[0].text.translate(_ASCII_LOWER)


def _closing_paren(tokens: list[Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        kind = tokens[index].token_type
        depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
        if depth == 0:
            return index
    return -1


def _function_schema(node: exp.Func) -> str | None:
    """The schema written before a function name (``"?"`` when it is not a plain name)."""
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        return _normalised_name(parent.this)
    if isinstance(parent, exp.Table) and parent.this is node:
        if parent.args.get("catalog") is not None:
            return "?"
        db = parent.args.get("db")
        return None if db is None else _normalised_name(db)
    if isinstance(parent, exp.Column):
        return "?"
    return None


# relations


def _check_table(table: exp.Table, allowed_tables: Set[str] | None) -> None:
    if isinstance(table.this, exp.Func) or (table.this is None and table.args.get("rows_from")):
        return  # a table function: its call is checked as a function
    if not isinstance(table.this, exp.Identifier):
        _reject(
            "unsupported_syntax",
            "unsupported FROM item: select from tables, subqueries, "
            "VALUES or allowed set-returning functions",
        )
    name = _normalised_name(table.this)
    schema = _optional_name(table.args.get("db"))
    if _is_system_relation(schema, name):
        _reject(
            "system_catalog",
            f"system catalog {_qualified(schema, name)} is not allowed: "
            "query only the business tables",
        )
    if allowed_tables is not None:
        _check_allowed_relation(table, schema, name, allowed_tables)


def _is_system_relation(schema: str | None, name: str) -> bool:
    if schema is None:
        return name.startswith("pg_")
    return schema in SYSTEM_SCHEMAS or schema.startswith("pg_")


def _check_allowed_relation(
    table: exp.Table, schema: str | None, name: str, allowed_tables: Set[str]
) -> None:
    if _is_cte_reference(table, name):
        return
    in_allowed_schema = table.args.get("catalog") is None and (
        schema is None or schema in TABLE_SCHEMAS
    )
    if in_allowed_schema and name in allowed_tables:
        return
    listed = ", ".join(sorted(allowed_tables)) or "(none)"
    _reject(
        "forbidden_relation",
        f"relation {_qualified(schema, name)} is not allowed: query "
        f"only these tables (unqualified, or in schema public or bi): {listed}",
    )


def _is_cte_reference(table: exp.Table, name: str) -> bool:
    """PostgreSQL reads a relation name as a CTE only when it is unqualified: a schema (or
    catalog) written before it always means a table, whatever CTEs are in scope."""
    unqualified = table.args.get("db") is None and table.args.get("catalog") is None
    return unqualified and name in _ctes_in_scope(table)


def _ctes_in_scope(table: exp.Table) -> set[str]:
    """CTE names a relation at this position resolves to, by PostgreSQL's scoping rules."""
    names: set[str] = set()
    child: exp.Expr = table
    parent = table.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            names |= _ctes_visible_inside(parent, child)
        elif isinstance(parent.args.get("with_"), exp.With) and parent.args["with_"] is not child:
            names |= _cte_names(parent.args["with_"].expressions)
        child, parent = parent, parent.parent
    return names


def _ctes_visible_inside(with_: exp.With, cte: exp.Expr) -> set[str]:
    """A CTE body sees the CTEs before it; with RECURSIVE, every CTE of its WITH."""
    ctes = list(with_.expressions)
    if with_.args.get("recursive"):
        return _cte_names(ctes)
    position = next((index for index, item in enumerate(ctes) if item is cte), 0)
    return _cte_names(ctes[:position])


def _cte_names(ctes: Iterable[exp.Expr]) -> set[str]:
    return {_normalised_name(cte.args["alias"].this) for cte in ctes if cte.args.get("alias")}


# types


def _check_type(node: exp.DataType | exp.ObjectIdentifier) -> None:
    if isinstance(node, exp.ObjectIdentifier):
        allowed, shown = node.name.lower() in ALLOWED_OBJECT_IDENTIFIER_TYPES, node.name.lower()
    elif node.this == exp.DataType.Type.USERDEFINED:
        kind = node.args.get("kind")
        shown = kind.sql(dialect=_DIALECT) if isinstance(kind, exp.Expr) else "?"
        allowed = isinstance(kind, exp.Identifier) and _normalised_name(kind) in (
            ALLOWED_NAMED_TYPES
        )
    else:
        allowed, shown = node.this.name in ALLOWED_DATA_TYPES, node.this.name.lower()
    if not allowed:
        _reject(
            "forbidden_type",
            f"type {shown} is not allowed: cast only to plain data types "
            "(numbers, text, dates and times, boolean, JSON, arrays, vectors); never to "
            "reg*/oid catalog types",
        )


# identifiers


def _is_quoted(node: object) -> bool:
    return isinstance(node, exp.Identifier) and bool(node.args.get("quoted"))


def _normalised_name(node: object) -> str:
    """A name as PostgreSQL resolves it: quoted as written, unquoted with ASCII lowercased."""
    if not isinstance(node, exp.Identifier):
        return "?"
    text = str(node.this)
    return text if node.args.get("quoted") else text.translate(_ASCII_LOWER)


def _optional_name(node: object) -> str | None:
    return None if node is None else _normalised_name(node)


def _qualified(schema: str | None, name: str) -> str:
    return name if schema is None else f"{schema}.{name}"


# --- layer 5: values a timeout cannot stop -------------------------------------------------
#
# PostgreSQL notices a cancel (the statement timeout's too) only between steps of its work:
# one function call on a large value runs to its end, however long (normalize of 250M
# characters ran 14 s past a 5 s timeout; translate, strpos and trim with long patterns are
# quadratic). Large values are cheap to build (repeat, ||, string_agg ...), so the SQL that
# runs bounds them where they are built and where they are used: the database function
# ``ValueCaps.function`` returns its argument unchanged when it is at most so many bytes and
# fails otherwise, and each call of it is also a point where a cancel is noticed. Literal
# bounds (counts, widths, type lengths, patterns) are checked here, before anything runs.

# Functions that take only fixed-size values (numbers, dates) or that run once per row
# (aggregates and window functions, whose arguments are single values): their inputs are not
# capped. Every other function's non-literal arguments are.
FIXED_COST_FUNCTIONS = (
    MATH_FUNCTIONS
    | (DATE_TIME_FUNCTIONS - {"to_char", "to_date", "to_number", "to_timestamp"})
    | CONDITIONAL_FUNCTIONS
    | VECTOR_FUNCTIONS
    | WINDOW_FUNCTIONS
    | AGGREGATE_FUNCTIONS
    | SET_RETURNING_FUNCTIONS
    | SYNTAX_CALLS
)

# Functions whose result is a number, date or time (casting it costs next to nothing).
VALUE_AGGREGATES = frozenset(
    {
        "any_value",
        "array_agg",
        "json_agg",
        "json_object_agg",
        "jsonb_agg",
        "jsonb_object_agg",
        "max",
        "min",
        "mode",
        "percentile_disc",
        "string_agg",
    }
)  # fmt: skip  (aggregates that return one of their inputs, or all of them)
FIXED_SIZE_RESULTS = (
    MATH_FUNCTIONS
    | (DATE_TIME_FUNCTIONS - {"to_char", "to_date", "to_number", "to_timestamp"})
    | (AGGREGATE_FUNCTIONS - VALUE_AGGREGATES)
    | {"cume_dist", "dense_rank", "ntile", "percent_rank", "rank", "row_number"}
)
_ARITHMETIC: tuple[type[exp.Expr], ...] = (
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Pow, exp.Neg,
)  # fmt: skip
_CLOCK: tuple[type[exp.Expr], ...] = (
    exp.CurrentDate, exp.CurrentTime, exp.CurrentTimestamp, exp.Localtime, exp.Localtimestamp,
    exp.Extract,
)  # fmt: skip

# Functions whose result can be larger than their largest argument by more than a small
# factor (rows joined together, arguments concatenated, counts, patterns expanded): their
# results are capped too.
VALUE_BUILDING_FUNCTIONS = frozenset(
    {
        "array_agg", "array_append", "array_cat", "array_prepend", "array_replace",
        "array_to_string", "concat", "concat_ws", "format", "json_agg", "json_build_array",
        "json_build_object", "json_object", "json_object_agg", "jsonb_agg",
        "jsonb_build_array", "jsonb_build_object", "jsonb_insert", "jsonb_object",
        "jsonb_object_agg", "jsonb_pretty", "jsonb_set", "lpad", "overlay",
        "regexp_replace", "regexp_split_to_array", "repeat", "replace", "rpad",
        "string_agg", "string_to_array", "to_char", "ts_headline",
    }
)  # fmt: skip

# Arithmetic whose cost grows with both operands (numeric values of thousands of digits), and
# math functions of that cost: their results are checked too.
_QUADRATIC_ARITHMETIC: tuple[type[exp.Expr], ...] = (exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Pow)
COSTLY_MATH_FUNCTIONS = frozenset(
    {"cbrt", "div", "exp", "factorial", "gcd", "lcm", "ln", "log", "log10", "mod", "pow",
     "power", "sqrt"}
)  # fmt: skip

# Arguments with a smaller cap than ValueCaps.value_bytes, by function: the sqlglot argument
# key ("expressions[i]" for plain calls, "*" for all), and which cap.
ARGUMENT_CAPS: dict[str, dict[str, str]] = {
    "position": {"substr": "needle"},
    "strpos": {"substr": "needle"},
    "replace": {"expression": "needle"},
    "split_part": {"delimiter": "needle"},
    "string_to_array": {"expression": "needle"},
    "string_to_table": {"expressions[1]": "needle"},
    "translate": {"from_": "charset", "to": "charset"},
    "btrim": {"expression": "charset"},
    "ltrim": {"expression": "charset"},
    "rtrim": {"expression": "charset"},
    "trim": {"expression": "charset"},
    "to_tsquery": {"expressions[-1]": "tsquery_text"},
    "plainto_tsquery": {"expressions[-1]": "tsquery_text"},
    "phraseto_tsquery": {"expressions[-1]": "tsquery_text"},
    "websearch_to_tsquery": {"expressions[-1]": "tsquery_text"},
    "ts_headline": {"*": "text_search"},
    "array_to_string": {"expression": "needle", "null": "needle"},  # repeated per element
    "to_char": {"this": "fixed"},  # a date, time or number: only the format is text
}

# Operators that do work proportional to their operands in one step: ILIKE (lower-cases
# first), JSON extraction (json text is parsed each time), and containment and overlap of
# arrays and jsonb (each element of one side looked for in the other).
CAPPED_OPERATORS: dict[type[exp.Expr], str] = {
    exp.ILike: "value",
    exp.JSONExtract: "value",
    exp.JSONExtractScalar: "value",
    exp.JSONBExtract: "value",
    exp.JSONBExtractScalar: "value",
    exp.ArrayContainsAll: "containment",
    exp.ArrayContainedBy: "containment",
    exp.ArrayOverlaps: "containment",
    exp.ArrayContains: "containment",
}
_OPERANDS = ("this", "expression")

# Not values: keywords, orderings, JSON paths, types, and bare queries (ARRAY(SELECT ...));
# a scalar subquery, (SELECT ...), is a value.
_NOT_VALUES: tuple[type[exp.Expr], ...] = (
    exp.Var, exp.Order, exp.Ordered, exp.Distinct, exp.JSONPath, exp.DataType, exp.Star,
    exp.Identifier, exp.Select, exp.SetOperation, exp.WindowSpec,
)  # fmt: skip
_LITERALS: tuple[type[exp.Expr], ...] = (
    exp.Literal, exp.Null, exp.Boolean, exp.ByteString, exp.RawString, exp.BitString,
    exp.HexString, exp.UnicodeString, exp.Var, exp.JSONPath, exp.Star, exp.DataType,
)  # fmt: skip
_FORMAT_SPEC = re.compile(r"%(?:\d+\$)?-*(\*(?:\d+\$)?|\d+)?[sIL%]")


def _is_literal(node: exp.Expr) -> bool:
    """A constant written in the query (bounded by the query's length), cast or not."""
    if isinstance(node, _LITERALS):
        return True
    if isinstance(node, exp.Neg | exp.Paren | exp.Cast | exp.Interval):
        return _is_literal(node.this)
    if isinstance(node, exp.Array):
        return all(_is_literal(item) for item in node.expressions)
    return False


def _literal_bytes(node: exp.Expr) -> int:
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    if isinstance(node, exp.Literal) and node.is_string:
        return len(node.this.encode("utf-8"))
    return 0


def _argument_slots(node: exp.Func) -> list[tuple[str, exp.Expr]]:
    """The call's value arguments, each with its key (``expressions[i]`` for lists)."""
    slots: list[tuple[str, exp.Expr]] = []
    for key, value in node.args.items():
        if isinstance(value, exp.Expr) and not isinstance(value, _NOT_VALUES):
            slots.append((key, value))
        elif isinstance(value, list):
            items = [v for v in value if isinstance(v, exp.Expr)]
            slots += [(f"{key}[{i}]", v) for i, v in enumerate(items)]
            slots += [(f"{key}[{i - len(items)}]", v) for i, v in enumerate(items)]
    return [(key, value) for key, value in slots if not isinstance(value, _NOT_VALUES)]


def _argument_kind(name: str, key: str) -> str:
    """Which cap an argument gets: a ``ValueCaps`` figure, or "fixed" for none."""
    special = ARGUMENT_CAPS.get(name, {})
    return special.get(key) or special.get("*") or "value"


def _check_literal_bounds(statement: exp.Expr, names: Mapping[int, str], caps: ValueCaps) -> None:
    """Counts, widths and type lengths written as literals, and literal patterns."""
    for node in statement.walk():
        if isinstance(node, exp.DataTypeParam):
            _check_count(node.this, "a type length", caps)
        elif isinstance(node, exp.Func) and id(node) in names:
            _check_call_bounds(node, names[id(node)], caps)


def _check_call_bounds(node: exp.Func, name: str, caps: ValueCaps) -> None:
    if name in {"repeat", "lpad", "rpad"}:
        count = node.args.get("times") if name == "repeat" else node.args.get("expression")
        _check_count(count, f"the count of {name}", caps, required=True)
    elif name == "format":
        arguments = node.expressions if isinstance(node, exp.Anonymous) else [node.this]
        _check_format_string(arguments[0] if arguments else None, caps)
    for key, value in _argument_slots(node):
        kind = _argument_kind(name, key)
        if kind not in {"value", "fixed"} and _literal_bytes(value) > caps.bytes_for(kind):
            _reject(
                "too_large",
                f"an argument of {name} is longer than {caps.bytes_for(kind)} bytes: "
                "search for, trim or translate shorter texts",
            )


def _check_count(node: object, what: str, caps: ValueCaps, *, required: bool = False) -> None:
    literal = node.this if isinstance(node, exp.Paren) else node
    if isinstance(literal, exp.Literal) and not literal.is_string:
        if literal.is_int and int(literal.this) <= caps.count:
            return
    elif not required:
        return
    _reject(
        "too_large",
        f"{what} must be a whole number literal up to {caps.count:,}: "
        "results that large are never useful",
    )


def _check_format_string(node: object, caps: ValueCaps) -> None:
    if not (isinstance(node, exp.Literal) and node.is_string):
        _reject("too_large", "the format string of format() must be a string literal")
    for width in _FORMAT_SPEC.findall(str(node.this)):
        if width.startswith("*") or (width and int(width) > caps.count):
            _reject(
                "too_large",
                f"format() widths must be written as numbers up to {caps.count:,} (no *)",
            )


def _cap_values(statement: exp.Expr, names: Mapping[int, str], caps: ValueCaps) -> int:
    """Rewrite the tree so that every computed value is checked where it is built (results
    of value-building functions, ||, ARRAY[...]) and where a costly function or operator
    gets it. Already-checked places (this function's own output) are left as they are.
    Returns how many checks were added."""
    nodes = list(statement.walk())
    added = 0
    for node in nodes:
        if _builds_values(node, names):
            added += _cap(_result_of(node), caps.value_bytes, caps)
    for node in nodes:
        for value, max_bytes in _used_values(node, names, caps):
            added += _cap(value, max_bytes, caps)
    return added


def _builds_values(node: exp.Expr, names: Mapping[int, str]) -> bool:
    """Calls and operators whose result is checked: those that build large values, and
    costly arithmetic (numbers of up to 131,072 digits: one product takes 0.06 s, so its
    check is also where a cancel is noticed between many of them)."""
    if isinstance(node, exp.DPipe):
        return True
    if isinstance(node, exp.Array):
        return not _is_literal(node)
    if isinstance(node, exp.Pow):  # x ^ 2 is x * x
        return not (_is_literal(node.this) and _is_literal(node.expression))
    if isinstance(node, _QUADRATIC_ARITHMETIC):
        return not any(_is_short_number(operand) for operand in (node.this, node.expression))
    name = names.get(id(node))
    if name == "to_char":  # at most 12 bytes per character of its format
        return not _is_literal(node.args.get("format") or exp.null())
    if name in COSTLY_MATH_FUNCTIONS:
        return not all(_is_literal(value) for _, value in _argument_slots(cast(exp.Func, node)))
    return isinstance(node, exp.Func) and name in VALUE_BUILDING_FUNCTIONS


def _is_short_number(node: exp.Expr) -> bool:
    """A number literal of at most 20 digits: multiplying by it costs next to nothing."""
    while isinstance(node, exp.Neg | exp.Paren | exp.Cast):
        node = node.this
    return isinstance(node, exp.Literal) and not node.is_string and len(node.this) <= 20


def _result_of(node: exp.Expr) -> exp.Expr:
    """An aggregate's value is that of its FILTER and OVER clauses around it."""
    while isinstance(node.parent, exp.Filter | exp.Window) and node.parent.this is node:
        node = node.parent
    return node


def _used_values(
    node: exp.Expr, names: Mapping[int, str], caps: ValueCaps
) -> list[tuple[exp.Expr, int]]:
    """The non-literal values a costly call, cast or operator gets, with their caps. The
    values one call gets share ``value_bytes`` between them: one call may be given 100
    arguments (json_build_array of 100 values of 1 MB escaped for 7 s)."""
    kind = CAPPED_OPERATORS.get(type(node))
    if kind is not None:
        operands = [node.args.get(key) for key in _OPERANDS]
        return [
            (v, caps.bytes_for(kind))
            for v in operands
            if isinstance(v, exp.Expr) and not _is_literal(v)
        ]
    if isinstance(node, exp.Cast):
        operand = node.this
        if _is_literal(operand) or _is_fixed_size(operand, names):
            return []
        return [(operand, caps.bytes_for(_cast_kind(node)))]
    name = names.get(id(node))
    if not isinstance(node, exp.Func) or name is None or name in FIXED_COST_FUNCTIONS:
        return []
    if name == caps.function:
        return []
    slots = [(value, _argument_kind(name, key)) for key, value in _argument_slots(node)]
    unique = {id(value): (value, kind) for value, kind in slots}  # list items appear twice
    used = [(v, kind) for v, kind in unique.values() if kind != "fixed" and not _is_literal(v)]
    share = caps.value_bytes // max(1, sum(kind == "value" for _, kind in used))
    return [(v, share if kind == "value" else caps.bytes_for(kind)) for v, kind in used]


def _is_fixed_size(node: exp.Expr, names: Mapping[int, str]) -> bool:
    """A number, date or time computed by arithmetic or by a function that returns one."""
    while isinstance(node, exp.Paren | exp.Window | exp.Filter):
        node = node.this
    if isinstance(node, _ARITHMETIC + _CLOCK):
        return True
    return isinstance(node, exp.Func) and names.get(id(node)) in FIXED_SIZE_RESULTS


def _cast_kind(cast: exp.Cast) -> str:
    target = cast.args.get("to")
    kind = target.args.get("kind") if isinstance(target, exp.DataType) else None
    named = isinstance(kind, exp.Identifier) and _normalised_name(kind) == "tsquery"
    return "tsquery_text" if named else "value"


def _cap(value: exp.Expr, max_bytes: int, caps: ValueCaps) -> bool:
    """Pass ``value`` through the check function, unless it is checked already."""
    if _is_cap_call(value, max_bytes, caps) or (
        value.parent is not None
        and _is_cap_call(value.parent, max_bytes, caps)
        and value.parent.expressions[0] is value
    ):
        return False
    call = exp.Anonymous(this=caps.function, expressions=[])
    value.replace(call)
    call.set("expressions", [value, exp.Literal.number(max_bytes)])
    return True


def _is_cap_call(node: exp.Expr, max_bytes: int, caps: ValueCaps) -> bool:
    """``caps.function(value, n)`` with n at most ``max_bytes``."""
    if not (isinstance(node, exp.Anonymous) and str(node.this).lower() == caps.function):
        return False
    arguments = node.expressions
    bound = arguments[1] if len(arguments) == 2 else None
    return isinstance(bound, exp.Literal) and bound.is_int and int(bound.this) <= max_bytes
