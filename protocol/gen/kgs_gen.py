#!/usr/bin/env python3
"""Generates the Kafka codec (C++) from protocol/schema/kafka.kgs (format: see that file's header).

Usage:
  kgs_gen.py SCHEMA --out DIR            write protocol/*.h, *.cpp (and samples) under DIR
  kgs_gen.py SCHEMA --list               print the generated file paths (relative to DIR)
  kgs_gen.py SCHEMA --dump               print the parsed schema in a normalized form (for review)

Output (DIR/protocol/): one <api>.h/.cpp per API, headers.h/.cpp, api_keys.h, errors.h, and the test-only
samples.h + sample_<api>.cpp. Files are rewritten only when their content changes.
Python 3 standard library only.
"""
import argparse
import os
import re
import sys

MAXV = 0x7FFF
NEVER_FLEXIBLE = 0x7FFF

INT_TYPES = {
    # type: (C++ type, reader call, writer call, min, max)
    "int8": ("std::int8_t", "i8", "i8", -(1 << 7), (1 << 7) - 1),
    "int16": ("std::int16_t", "i16", "i16", -(1 << 15), (1 << 15) - 1),
    "uint16": ("std::uint16_t", "u16", "u16", 0, (1 << 16) - 1),
    "int32": ("std::int32_t", "i32", "i32", -(1 << 31), (1 << 31) - 1),
    "uint32": ("std::uint32_t", "u32", "u32", 0, (1 << 32) - 1),
    "int64": ("std::int64_t", "i64", "i64", -(1 << 63), (1 << 63) - 1),
}
SCALARS = set(INT_TYPES) | {"bool", "float64", "uuid"}
PRIMITIVES = SCALARS | {"string", "bytes", "records"}
FIXED_SIZES = {"bool": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "float64": 8,
               "uuid": 16}
CPP_KEYWORDS = set("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield
decltype default delete do double dynamic_cast else enum explicit export extern false float for friend goto if
inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public
register reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch
template this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile
wchar_t while xor xor_eq""".split())
RESERVED_MEMBERS = {"decode", "encode", "unknown_tagged_fields"}
RESERVED_TOP_MEMBERS = RESERVED_MEMBERS | {"api_key", "min_version", "max_version", "first_flexible"}


class SchemaError(Exception):
    pass


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Versions:
    """An inclusive version range; empty when lo > hi."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text, where):
        if text == "none":
            return Versions(1, 0)
        m = re.fullmatch(r"(\d+)(\+|-(\d+))?", text)
        if not m:
            raise SchemaError(f"{where}: bad version range '{text}'")
        lo = int(m.group(1))
        if m.group(2) is None:
            return Versions(lo, lo)
        if m.group(2) == "+":
            return Versions(lo, MAXV)
        hi = int(m.group(3))
        if hi < lo:
            raise SchemaError(f"{where}: empty version range '{text}'")
        return Versions(lo, hi)

    def empty(self):
        return self.lo > self.hi

    def __and__(self, o):
        return Versions(max(self.lo, o.lo), min(self.hi, o.hi))

    def hull(self, o):
        if self.empty():
            return o
        if o.empty():
            return self
        return Versions(min(self.lo, o.lo), max(self.hi, o.hi))

    def __str__(self):
        if self.empty():
            return "none"
        if self.hi == MAXV:
            return f"{self.lo}+"
        return f"{self.lo}" if self.lo == self.hi else f"{self.lo}-{self.hi}"


def cond(vs, ctx, var="v"):
    """C++ condition for 'version in vs', knowing the version is in ctx: 'true', 'false' or an expression."""
    inter = vs & ctx
    if inter.empty():
        return "false"
    parts = []
    if inter.lo > ctx.lo:
        parts.append(f"{var} >= {inter.lo}")
    if inter.hi < ctx.hi:
        parts.append(f"{var} <= {inter.hi}")
    return " && ".join(parts) if parts else "true"


def paren(c):
    return f"({c})" if "&&" in c else c


class Field:
    def __init__(self, where):
        self.where = where
        self.name = self.type = None
        self.versions = None
        self.nullable = Versions(1, 0)
        self.tag = None
        self.default = None  # text as written, or None
        self.flexible = None  # field-level override of the flexible versions (Versions) or None
        self.children = []  # inline struct definition
        self.struct = None  # resolved Struct for struct / []struct types

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def base(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        return self.base not in PRIMITIVES

    @property
    def optional(self):  # member is std::optional<...>
        return self.base == "records" and not self.is_array or not (self.nullable & self.versions).empty()


class Struct:
    def __init__(self, name, fields, where):
        self.name, self.fields, self.where = name, fields, where
        self.cname = snake(name)
        self.versions = Versions(1, 0)  # versions in which it can appear (hull over uses)


class Message:
    def __init__(self, kind, name, api_key, versions, flexible, where):
        self.kind = kind  # 'request', 'response', 'header'
        self.name, self.api_key, self.versions, self.flexible, self.where = name, api_key, versions, flexible, where
        self.cname = snake(name)
        self.fields = []
        self.common = {}  # name -> Struct declared with 'struct'
        self.structs = []  # all structs, dependencies first

    @property
    def first_flexible(self):
        f = self.flexible & self.versions
        return NEVER_FLEXIBLE if f.empty() else f.lo


class Api:
    def __init__(self, key, name, versions, flexible):
        self.key, self.name, self.versions, self.flexible = key, name, versions, flexible
        self.file = snake(name)
        self.request = self.response = None
        self.addresses = Versions(1, 0)  # versions whose responses carry broker addresses
        self.sensitive = False  # requests carry credentials


class ApiName:
    """An API the codec does not decode ('apikey' line)."""

    def __init__(self, key, name, addresses):
        self.key, self.name, self.addresses = key, name, addresses
        # Versions whose responses start with throttle_time_ms, and the flexible ones (whose
        # response header ends in tagged fields): 'throttle <range> flexible <range>'.
        self.throttle = Versions(1, 0)
        self.flexible = Versions(1, 0)


class ErrorCode:
    def __init__(self, code, name, retriable, message):
        self.code, self.name, self.retriable, self.message = code, name, retriable, message


class Schema:
    """Everything kafka.kgs declares."""

    def __init__(self):
        self.apis, self.headers, self.names, self.errors = [], [], [], []


def tokenize(text, where):
    toks = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\S+)', text):
        toks.append(("str", m.group(1)) if m.group(1) is not None else ("word", m.group(2)))
    return toks


def strip_comment(line):
    """Drops a '#' comment (a '#' inside a "quoted" default does not start one)."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i]
    return line


def parse_field(toks, where):
    f = Field(where)
    words = [t[1] for t in toks]
    if len(words) < 3:
        raise SchemaError(f"{where}: a field needs at least: name type versions")
    if toks[0][0] != "word" or not re.fullmatch(r"[a-z][a-z0-9_]*", words[0]):
        raise SchemaError(f"{where}: field name must be snake_case, got '{words[0]}'")
    f.name, f.type = words[0], words[1]
    if not re.fullmatch(r"(\[\])?([a-z0-9]+|[A-Z][A-Za-z0-9]*)", f.type):
        raise SchemaError(f"{where}: bad type '{f.type}'")
    if f.base[0].islower() and f.base not in PRIMITIVES:
        raise SchemaError(f"{where}: unknown type '{f.base}'")
    f.versions = Versions.parse(words[2], where)
    i = 3
    while i < len(toks):
        key = words[i]
        if i + 1 >= len(toks):
            raise SchemaError(f"{where}: '{key}' needs a value")
        kind, val = toks[i + 1]
        if key == "nullable":
            f.nullable = Versions.parse(val, where)
        elif key == "tag":
            if not val.isdigit():
                raise SchemaError(f"{where}: bad tag '{val}'")
            f.tag = int(val)
        elif key == "default":
            f.default = ('"' + val + '"') if kind == "str" else val
        elif key == "flexible":
            f.flexible = Versions.parse(val, where)
        else:
            raise SchemaError(f"{where}: unknown option '{key}'")
        i += 2
    return f


def parse_api_line(toks, words, where):
    if len(words) < 7 or words[3] != "versions" or words[5] != "flexible":
        raise SchemaError(f"{where}: expected 'api <key> <Name> versions <range> flexible <range> [flags]'")
    api = Api(int(words[1]), words[2], Versions.parse(words[4], where), Versions.parse(words[6], where))
    i = 7
    while i < len(words):
        if words[i] == "addresses" and i + 1 < len(words):
            api.addresses = Versions.parse(words[i + 1], where)
            i += 2
        elif words[i] == "sensitive":
            api.sensitive = True
            i += 1
        else:
            raise SchemaError(f"{where}: unknown api flag '{words[i]}' (addresses <range>, sensitive)")
    return api


def parse_apikey_line(words, where):
    usage = f"{where}: expected 'apikey <key> <Name> [addresses] [throttle <range> flexible <range>]'"
    if len(words) < 3 or not re.fullmatch(r"\d+", words[1]) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", words[2]):
        raise SchemaError(usage)
    rest = words[3:]
    n = ApiName(int(words[1]), words[2], bool(rest) and rest[0] == "addresses")
    if n.addresses:
        rest = rest[1:]
    if rest:
        if len(rest) != 4 or rest[0] != "throttle" or rest[2] != "flexible":
            raise SchemaError(usage)
        n.throttle = Versions.parse(rest[1], where)
        n.flexible = Versions.parse(rest[3], where)
    return n


def throttle_site(a):
    """(first version with throttle_time_ms, bytes of fixed-size fields before it or -1 when a
    field of variable size precedes it) for a decoded API's response; (NEVER_FLEXIBLE, 0) without."""
    before = 0
    for f in a.response.fields:
        if f.name == "throttle_time_ms":
            if f.type != "int32" or f.tag is not None:
                raise SchemaError(f"{f.where}: throttle_time_ms must be an untagged int32")
            v = f.versions & a.versions
            if v.hi != a.versions.hi:
                raise SchemaError(f"{f.where}: throttle_time_ms must stay in every later version")
            return v.lo, before
        if before < 0 or f.tag is not None:
            continue
        fixed = FIXED_SIZES.get(f.type)
        if fixed is None:
            before = -1
        elif not (f.versions & a.versions).empty():
            if (f.versions & a.versions).lo > a.versions.lo or (f.versions & a.versions).hi != a.versions.hi:
                raise SchemaError(f"{f.where}: a field before throttle_time_ms must be in every version")
            before += fixed
    return NEVER_FLEXIBLE, 0


def parse_error_line(toks, words, where):
    if len(toks) < 3 or not re.fullmatch(r"-?\d+", words[1]) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", words[2]):
        raise SchemaError(f"{where}: expected 'error <code> <NAME> [retriable] [\"message\"]'")
    retriable, message = False, None
    for kind, val in toks[3:]:
        if kind == "word" and val == "retriable" and not retriable and message is None:
            retriable = True
        elif kind == "str" and message is None:
            message = val
        else:
            raise SchemaError(f"{where}: unexpected '{val}' in an error line")
    return ErrorCode(int(words[1]), words[2], retriable, message)


def parse(path):
    schema = Schema()
    apis, headers = schema.apis, schema.headers
    api = msg = None
    stack = []  # (indent, list to append fields to)
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for lineno, raw in enumerate(lines, 1):
        where = f"{path}:{lineno}"
        line = strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if "\t" in line:
            raise SchemaError(f"{where}: tabs are not allowed")
        indent = len(line) - len(line.lstrip(" "))
        toks = tokenize(line.strip(), where)
        words = [t[1] for t in toks]
        if indent == 0:
            if words[0] == "api":
                api = parse_api_line(toks, words, where)
                if any(a.key == api.key or a.name == api.name for a in apis + schema.names):
                    raise SchemaError(f"{where}: duplicate api {api.key} {api.name}")
                apis.append(api)
                msg = None
            elif words[0] == "apikey":
                n = parse_apikey_line(words, where)
                if any(a.key == n.key or a.name == n.name for a in apis + schema.names):
                    raise SchemaError(f"{where}: duplicate api {n.key} {n.name}")
                schema.names.append(n)
                api = msg = None
            elif words[0] == "error":
                e = parse_error_line(toks, words, where)
                if any(x.code == e.code or x.name == e.name for x in schema.errors):
                    raise SchemaError(f"{where}: duplicate error {e.code} {e.name}")
                schema.errors.append(e)
                api = msg = None
            elif words[0] == "header":
                if len(words) != 6 or words[2] != "versions" or words[4] != "flexible":
                    raise SchemaError(f"{where}: expected 'header <Name> versions <range> flexible <range>'")
                api = None
                msg = Message("header", words[1], None, Versions.parse(words[3], where),
                              Versions.parse(words[5], where), where)
                headers.append(msg)
                stack = [(0, msg.fields)]
            elif words[0] in ("request", "response") and len(words) == 1:
                if api is None:
                    raise SchemaError(f"{where}: '{words[0]}' outside an api block")
                if getattr(api, words[0]) is not None:
                    raise SchemaError(f"{where}: duplicate {words[0]}")
                msg = Message(words[0], api.name + words[0].capitalize(), api.key, api.versions, api.flexible, where)
                setattr(api, words[0], msg)
                stack = [(0, msg.fields)]
            else:
                raise SchemaError(f"{where}: expected api, apikey, error, header, request or response")
            continue
        if msg is None:
            raise SchemaError(f"{where}: field outside a message")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if not stack or indent != stack[-1][0] + 2:
            raise SchemaError(f"{where}: bad indentation (nest by two spaces)")
        if words[0] == "struct":
            if indent != 2 or len(words) not in (2, 3) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", words[1]):
                raise SchemaError(f"{where}: expected 'struct <Name> [versions]' at message level")
            if words[1] in msg.common:
                raise SchemaError(f"{where}: duplicate struct {words[1]}")
            s = Struct(words[1], [], where)
            msg.common[words[1]] = s
            stack.append((indent, s.fields))
        else:
            f = parse_field(toks, where)
            stack[-1][1].append(f)
            stack.append((indent, f.children))
    for a in apis:
        if a.request is None or a.response is None:
            raise SchemaError(f"api {a.name}: needs both request and response")
    for a in apis:
        if not (a.addresses & a.versions).empty() and (a.addresses & a.versions).lo != a.addresses.lo:
            raise SchemaError(f"api {a.name}: 'addresses' must lie within its versions")
    if not any(e.code == 0 for e in schema.errors):
        raise SchemaError(f"{path}: error 0 NONE is missing")
    for m in headers + [m for a in apis for m in (a.request, a.response)]:
        resolve(m)
    return schema


def resolve(msg):
    """Checks the message, binds struct types, computes struct versions and declaration order."""
    defined = dict(msg.common)
    order = []

    def check_field(f, ctx, siblings, top=False):
        where = f.where
        if f.name in CPP_KEYWORDS or f.name in (RESERVED_TOP_MEMBERS if top else RESERVED_MEMBERS):
            raise SchemaError(f"{where}: field name '{f.name}' is reserved")
        if f.name in siblings:
            raise SchemaError(f"{where}: duplicate field '{f.name}'")
        siblings.add(f.name)
        if f.tag is not None:
            present = f.versions & ctx
            inside = present & msg.flexible
            if f.flexible is not None or present.empty() or (inside.lo, inside.hi) != (present.lo, present.hi):
                raise SchemaError(f"{where}: a tagged field's versions must all be flexible versions")
        if f.is_array and f.base in ("bytes", "records"):
            raise SchemaError(f"{where}: arrays of {f.base} are not supported")
        if f.base in SCALARS and not f.is_array and not (f.nullable & f.versions).empty():
            raise SchemaError(f"{where}: {f.base} cannot be nullable")
        if f.is_array and f.base in SCALARS | {"string"} and f.children:
            raise SchemaError(f"{where}: primitive arrays have no fields")
        if f.base == "records" and f.tag is not None:
            raise SchemaError(f"{where}: records cannot be tagged")
        check_default(f)
        fctx = ctx & f.versions
        if f.is_struct:
            if f.children:
                if f.base in defined:
                    raise SchemaError(f"{where}: struct {f.base} defined twice")
                s = Struct(f.base, f.children, where)
                defined[f.base] = s
                walk(s, fctx)
            else:
                s = defined.get(f.base) or msg.common.get(f.base)
                if s is None:
                    raise SchemaError(f"{where}: struct {f.base} has no fields and is not a declared struct")
                walk(s, fctx)
            f.struct = s
        elif f.children:
            raise SchemaError(f"{where}: only struct-typed fields have nested fields")

    def walk(s, ctx):
        first = s.versions.empty()
        s.versions = s.versions.hull(ctx)
        if not first:
            return
        names, tags = set(), set()
        for f in s.fields:
            check_field(f, ctx, names)
            if f.tag is not None:
                if f.tag in tags:
                    raise SchemaError(f"{f.where}: duplicate tag {f.tag}")
                tags.add(f.tag)
        order.append(s)

    names, tags = set(), set()
    for f in msg.fields:
        check_field(f, msg.versions, names, top=True)
        if f.tag is not None:
            if f.tag in tags:
                raise SchemaError(f"{f.where}: duplicate tag {f.tag}")
            tags.add(f.tag)
    for s in msg.common.values():
        if s not in order:
            raise SchemaError(f"{s.where}: struct {s.name} is never used")
    cnames = {}
    for s in order:
        if s.cname in cnames or s.cname == msg.cname:
            raise SchemaError(f"{s.where}: struct name {s.cname} clashes")
        cnames[s.cname] = s
    msg.structs = order  # post-order: a struct comes after everything it contains


def check_default(f):
    d = f.default
    if d is None:
        return
    where = f.where
    if d == "null":
        if f.nullable.empty():
            raise SchemaError(f"{where}: default null on a non-nullable field")
        return
    if f.is_array or f.is_struct or f.base in ("bytes", "records", "uuid"):
        raise SchemaError(f"{where}: only null (or nothing) can be the default of a {f.type}")
    if f.base == "bool":
        if d not in ("true", "false"):
            raise SchemaError(f"{where}: bool default must be true or false")
    elif f.base in INT_TYPES:
        try:
            val = int(d, 0)
        except ValueError:
            raise SchemaError(f"{where}: bad integer default '{d}'")
        _, _, _, lo, hi = INT_TYPES[f.base]
        if not lo <= val <= hi:
            raise SchemaError(f"{where}: default {d} out of range for {f.base}")
    elif f.base == "float64":
        float(d)
    elif f.base == "string":
        if not (d.startswith('"') and d.endswith('"')):
            raise SchemaError(f"{where}: string default must be quoted")


# ----------------------------------------------------------------------------------------------
# C++ emission


def int_literal(base, val):
    ctype = INT_TYPES[base][0]
    if base == "int64":
        if val == INT_TYPES[base][3]:
            return "INT64_MIN"
        return f"{val}LL" if abs(val) > 0x7FFFFFFF else str(val)
    if base == "int32" and val == INT_TYPES[base][3]:
        return "(-2147483647 - 1)"
    if base in ("uint32",):
        return f"{val}u"
    return str(val)


def scalar_default(f):
    d = f.default
    if f.base in INT_TYPES:
        return int_literal(f.base, int(d, 0) if d is not None else 0)
    if f.base == "bool":
        return d or "false"
    if f.base == "float64":
        return d or "0.0"
    raise AssertionError


def elem_ctype(f, scope):
    b = f.base
    if b in INT_TYPES:
        return INT_TYPES[b][0]
    return {"bool": "bool", "float64": "double", "uuid": "uuid", "string": "std::string_view",
            "bytes": "bytes_view", "records": "bytes_view"}.get(b) or f"struct {scope}{f.struct.cname}"


def member_ctype(f, scope=""):
    t = elem_ctype(f, scope)
    if f.is_array:
        t = f"std::vector<{t}>"
    return f"std::optional<{t}>" if f.optional else t


def member_init(f):
    """Default member initializer (including the leading space/=), '' for a value-initialized member."""
    if f.optional:
        if f.default == "null" or f.base == "records":
            return ""
        if f.base == "string" and f.default not in (None, '""'):
            return f" = std::string_view({f.default})"
        return "{std::in_place}"
    if f.is_array or f.is_struct:
        return ""
    if f.base in ("string",):
        return "" if f.default in (None, '""') else f" = {f.default}"
    if f.base in ("bytes",):
        return ""
    if f.base == "uuid":
        return "{}"
    return f" = {scalar_default(f)}"


def non_default_check(f, x):
    """C++ condition: the member differs from its default (decides whether a tagged field is written)."""
    if f.optional:
        if f.default == "null" or f.base == "records":
            return f"{x}.has_value()"
        if f.is_array or f.base == "bytes":
            return f"(!{x} || !{x}->empty())"
        if f.is_struct:
            return f"(!{x} || !(*{x} == decltype({x})::value_type{{}}))"
        if f.base == "string":
            dv = "std::string_view{}" if f.default in (None, '""') else f"std::string_view({f.default})"
            return f"(!{x} || *{x} != {dv})"
    if f.is_array or f.base == "bytes":
        return f"!{x}.empty()"
    if f.is_struct:
        return f"!({x} == decltype({x}){{}})"
    if f.base == "string":
        return f"!{x}.empty()" if f.default in (None, '""') else f"{x} != {f.default}"
    if f.base == "uuid":
        return f"{x} != uuid{{}}"
    return f"{x} != {scalar_default(f)}"


class Ctx:
    """What the generator knows about the version while emitting one struct's methods."""

    def __init__(self, msg, versions):
        self.msg, self.versions = msg, versions


def compact_cond(f, ctx):
    flex = ctx.msg.flexible if f.flexible is None else (ctx.msg.flexible & f.flexible)
    return cond(flex, ctx.versions & f.versions)


def read_elem_lambda(f, compact):
    b = f.base
    t = elem_ctype(f, "")
    if f.is_struct:
        return "[v](reader& er, auto& e) { e.decode(er, v); }"
    if b in INT_TYPES:
        return f"[](reader& er, {t}& e) {{ e = er.{INT_TYPES[b][1]}(); }}"
    if b == "string":
        return f"[&](reader& er, std::string_view& e) {{ e = er.string({compact}); }}"
    if b == "bool":
        return "[](reader& er, bool& e) { e = er.boolean(); }"
    if b == "float64":
        return "[](reader& er, double& e) { e = er.f64(); }"
    if b == "uuid":
        return "[](reader& er, uuid& e) { e = er.read_uuid(); }"
    raise AssertionError(b)


def write_elem_lambda(f, compact):
    b = f.base
    t = elem_ctype(f, "")
    if f.is_struct:
        return "[v](writer& ew, const auto& e) { e.encode(ew, v); }"
    if b in INT_TYPES:
        return f"[](writer& ew, {t} e) {{ ew.{INT_TYPES[b][2]}(e); }}"
    if b == "string":
        return f"[&](writer& ew, std::string_view e) {{ ew.string(e, {compact}); }}"
    if b == "bool":
        return "[](writer& ew, bool e) { ew.boolean(e); }"
    if b == "float64":
        return "[](writer& ew, double e) { ew.f64(e); }"
    if b == "uuid":
        return "[](writer& ew, const uuid& e) { ew.write_uuid(e); }"
    raise AssertionError(b)


def gen_read(f, x, r, ctx, tagged):
    """Statement(s) reading field f into member expression x from reader r."""
    fctx = ctx.versions & f.versions
    compact = "true" if tagged else compact_cond(f, ctx)
    nullable = cond(f.nullable, fctx)
    b = f.base
    if f.is_array:
        lam = read_elem_lambda(f, compact)
        if f.optional:
            return f"detail::read_nullable_array({r}, {compact}, {nullable}, {x}, {lam});"
        return f"detail::read_array({r}, {compact}, {x}, {lam});"
    if f.is_struct:
        if f.optional:
            return f"detail::read_nullable_struct({r}, v, {nullable}, {x});"
        return f"{x}.decode({r}, v);"
    if b in INT_TYPES:
        return f"{x} = {r}.{INT_TYPES[b][1]}();"
    if b == "bool":
        return f"{x} = {r}.boolean();"
    if b == "float64":
        return f"{x} = {r}.f64();"
    if b == "uuid":
        return f"{x} = {r}.read_uuid();"
    if b == "string":
        if not f.optional:
            return f"{x} = {r}.string({compact});"
        if nullable == "true":
            return f"{x} = {r}.nullable_string({compact});"
        return f"{x} = detail::read_nullable_string({r}, {compact}, {nullable});"
    if b in ("bytes", "records"):
        if not f.optional:
            return f"{x} = {r}.bytes({compact});"
        if nullable == "true":
            return f"{x} = {r}.nullable_bytes({compact});"
        return f"{x} = detail::read_nullable_bytes({r}, {compact}, {nullable});"
    raise AssertionError(b)


def gen_write(f, x, w, ctx, tagged):
    fctx = ctx.versions & f.versions
    compact = "true" if tagged else compact_cond(f, ctx)
    nullable = cond(f.nullable, fctx)
    b = f.base
    if f.is_array:
        lam = write_elem_lambda(f, compact)
        if f.optional:
            return f"detail::write_nullable_array({w}, {compact}, {nullable}, {x}, {lam});"
        return f"detail::write_array({w}, {compact}, {x}, {lam});"
    if f.is_struct:
        if f.optional:
            return f"detail::write_nullable_struct({w}, v, {nullable}, {x});"
        return f"{x}.encode({w}, v);"
    if b in INT_TYPES:
        return f"{w}.{INT_TYPES[b][2]}({x});"
    if b == "bool":
        return f"{w}.boolean({x});"
    if b == "float64":
        return f"{w}.f64({x});"
    if b == "uuid":
        return f"{w}.write_uuid({x});"
    if b == "string":
        if not f.optional:
            return f"{w}.string({x}, {compact});"
        if nullable == "true":
            return f"{w}.nullable_string({x}, {compact});"
        return f"detail::write_nullable_string({w}, {x}, {compact}, {nullable});"
    if b == "records":
        if f.optional and nullable == "true":
            return f"{w}.nullable_bytes({x}, {compact}, true);"
        return f"{w}.bytes({x}.value_or(bytes_view{{}}), {compact}, true);"
    if b == "bytes":
        if not f.optional:
            return f"detail::write_bytes({w}, {x}, {compact});"
        return f"detail::write_nullable_bytes({w}, {x}, {compact}, {nullable});"
    raise AssertionError(b)


def guarded(c, stmt, ind):
    if c == "true":
        return [ind + stmt]
    return [f"{ind}if ({c}) {stmt}"]


def unwrap(block):
    """'  if (true) {' ... '  }' -> the body, one level less indented."""
    return [line[2:] for line in block[1:-1]]


def struct_flexible(msg, versions):
    return not (msg.flexible & versions).empty()


def gen_methods(cls, qual, fields, msg, versions, top):
    """decode/encode/operator== definitions for one struct (qual = qualified C++ name)."""
    ctx = Ctx(msg, versions)
    flexible = struct_flexible(msg, versions)
    flex_cond = cond(msg.flexible, versions)
    out = []
    regular = [f for f in fields if f.tag is None]
    tagged = sorted([f for f in fields if f.tag is not None], key=lambda f: f.tag)

    # decode
    out.append(f"void {qual}::decode(reader& r, std::int16_t v) {{")
    out.append(f"  *this = {cls}{{}};" if top else "  *this = {};")
    if top:
        out.append(f"  if (v < {msg.versions.lo} || v > {msg.versions.hi}) {{")
        out.append('    r.fail("unsupported version");')
        out.append("    return;")
        out.append("  }")
    for f in regular:
        c = cond(f.versions, versions)
        if c != "false":
            out += guarded(c, gen_read(f, f.name, "r", ctx, False), "  ")
    fctx = versions & msg.flexible
    live = [f for f in tagged if cond(f.versions, fctx) != "false"]
    if flexible:
        block_start = len(out)
        out.append(f"  if ({flex_cond}) {{")
        if not live:
            out.append("    detail::read_unknown_tagged(r, unknown_tagged_fields);")
        else:
            out.append("    for (detail::tagged_fields t(r); t.next(r);) {")
            out.append("      switch (t.tag) {")
            for f in live:
                c = cond(f.versions, fctx)
                out.append(f"        case {f.tag}:")
                body = gen_read(f, f.name, "t.sub", ctx, True)
                out.append(f"          if ({c}) {{" if c != "true" else "          {")
                out.append(f"            {body}")
                out.append("            t.done(r);")
                out.append("            continue;")
                out.append("          }")
                if c != "true":
                    out.append("          break;")
            out.append("        default:")
            out.append("          break;")
            out.append("      }")
            out.append("      unknown_tagged_fields.push_back(t.raw());")
            out.append("    }")
        out.append("  }")
        if flex_cond == "true":
            out[block_start:] = unwrap(out[block_start:])
    out.append("}")
    out.append("")

    # encode
    out.append(f"void {qual}::encode(writer& w, std::int16_t v) const {{")
    for f in regular:
        c = cond(f.versions, versions)
        if c != "false":
            out += guarded(c, gen_write(f, f.name, "w", ctx, False), "  ")
    if flexible:
        block_start = len(out)
        out.append(f"  if ({flex_cond}) {{")
        if not live:
            out.append("    detail::write_unknown_tagged(w, unknown_tagged_fields);")
        else:
            names = []
            for f in live:
                c = cond(f.versions, fctx)
                nd = non_default_check(f, f.name)
                full = nd if c == "true" else f"{c} && {nd}"
                out.append(f"    const bool has_{f.tag} = {full};")
                names.append(f"has_{f.tag}")
            out.append(f"    detail::tagged_writer t(w, unknown_tagged_fields, {' + '.join(f'unsigned({n})' for n in names)});")
            for f in live:
                out.append(f"    if (has_{f.tag}) {{")
                out.append(f"      writer& b = t.begin({f.tag});")
                out.append(f"      {gen_write(f, f.name, 'b', ctx, True)}")
                out.append("      t.end();")
                out.append("    }")
            out.append("    t.finish();")
        out.append("  }")
        if flex_cond == "true":
            out[block_start:] = unwrap(out[block_start:])
    if not regular and not flexible:
        out.append("  (void)w;")
        out.append("  (void)v;")
    out.append("}")
    out.append("")

    # operator==
    out.append(f"bool {qual}::operator==(const {cls}& o) const {{")
    terms = []
    for f in fields:
        if f.base in ("bytes", "records") and not f.is_array:
            terms.append(f"detail::eq({f.name}, o.{f.name})")
        else:
            terms.append(f"{f.name} == o.{f.name}")
    if flexible:
        terms.append("unknown_tagged_fields == o.unknown_tagged_fields")
    if not terms:
        out.append("  (void)o;")
        out.append("  return true;")
    else:
        out.append("  return " + ("\n         && ".join(terms)) + ";")
    out.append("}")
    out.append("")
    return out


def field_comment(f, msg):
    parts = [f"v{f.versions}"]
    nv = f.nullable & f.versions
    if not nv.empty():
        parts.append(f"nullable v{nv}")
    if f.tag is not None:
        parts.append(f"tag {f.tag}")
    if f.flexible is not None:
        parts.append(f"flexible {f.flexible}")
    return ", ".join(parts)


def gen_members(fields, msg, versions, ind):
    out = []
    for f in fields:
        decl = f"{ind}{member_ctype(f)} {f.name}{member_init(f)};"
        out.append(f"{decl}  // {field_comment(f, msg)}")
    if struct_flexible(msg, versions):
        fl = msg.flexible & versions
        out.append(f"{ind}std::vector<raw_tagged_field> unknown_tagged_fields;  // v{fl}")
    return out


def gen_decls(cls, ind):
    return [
        f"{ind}void decode(reader& r, std::int16_t version);",
        f"{ind}void encode(writer& w, std::int16_t version) const;",
        f"{ind}bool operator==(const {cls}& o) const;",
    ]


def gen_message_decl(msg):
    out = []
    vname = "header_version" if msg.kind == "header" else "version"
    out.append(f"// {msg.name}: versions {msg.versions}, flexible {msg.flexible & msg.versions}.")
    out.append(f"struct {msg.cname} {{")
    ff = msg.first_flexible
    ffs = "never_flexible" if ff == NEVER_FLEXIBLE else str(ff)
    if msg.kind == "header":
        out.append(f"  static constexpr std::int16_t min_version = {msg.versions.lo}, max_version = {msg.versions.hi},")
        out.append(f"                               first_flexible = {ffs};")
    else:
        out.append(f"  static constexpr std::int16_t api_key = {msg.api_key}, min_version = {msg.versions.lo},")
        out.append(f"                               max_version = {msg.versions.hi}, first_flexible = {ffs};")
    top_names = {f.name for f in msg.fields}
    for s in msg.structs:
        out.append("")
        out.append(f"  struct {s.cname} {{")
        out += gen_members(s.fields, msg, s.versions, "    ")
        out.append("")
        out += gen_decls(s.cname, "    ")
        out.append("  };")
        if s.cname in top_names:
            out.append(f"  // The member {s.cname} hides this type's name in {msg.cname}'s scope: use {s.cname}_type.")
            out.append(f"  using {s.cname}_type = struct {s.cname};")
    out.append("")
    out += gen_members(msg.fields, msg, msg.versions, "  ")
    out.append("")
    out.append(f"  // Errors are reported through r.ok() / r.error(); {vname} outside [min_version, max_version] fails.")
    out.append(f"  void decode(reader& r, std::int16_t {vname});")
    out.append("  // Fields absent in that version are skipped; records and large bytes are borrowed, not copied.")
    out.append(f"  void encode(writer& w, std::int16_t {vname}) const;")
    out.append(f"  bool operator==(const {msg.cname}& o) const;")
    out.append("};")
    return out


def gen_message_defs(msg):
    out = []
    for s in msg.structs:
        out += gen_methods(s.cname, f"{msg.cname}::{s.cname}", s.fields, msg, s.versions, False)
    out += gen_methods(msg.cname, msg.cname, msg.fields, msg, msg.versions, True)
    return out


BANNER = "// Generated by protocol/gen/kgs_gen.py from protocol/schema/kafka.kgs. Do not edit."

HEADER_DOC = """//
// Conventions (all messages): members are views into the decoded buffer (string_view, bytes_view),
// so the buffer must outlive the message, and anything a message points at must outlive the
// writer output it is encoded into (records and bytes >= 256 bytes are borrowed, not copied).
// Nullable fields are std::optional; a null given for a version where the field is not nullable
// is encoded as empty. Known tagged fields are ordinary members, written when they differ from
// their default; unknown_tagged_fields keeps the others so re-encoding is lossless. Defaults
// follow Kafka: a nullable string/array without an explicit null default starts as empty."""


def gen_api_header(api):
    out = [BANNER, f"// {api.name} (API key {api.key}): request and response, versions {api.versions}.", HEADER_DOC,
           "#pragma once", "#include \"protocol/wire.h\"", "", "namespace kgw::protocol {", ""]
    out += gen_message_decl(api.request)
    out.append("")
    out += gen_message_decl(api.response)
    out += ["", "}  // namespace kgw::protocol", ""]
    return "\n".join(out)


def gen_api_source(api, header):
    out = [BANNER, f"#include \"protocol/{header}\"", "", "#include \"protocol/codec_support.h\"", "",
           "namespace kgw::protocol {", ""]
    out += gen_message_defs(api.request)
    out += gen_message_defs(api.response)
    out += ["}  // namespace kgw::protocol", ""]
    return "\n".join(out)


def gen_headers_header(headers):
    out = [BANNER, "// Request and response headers. header_version: request_header_version() and",
           "// response_header_version() from protocol/api_keys.h (included here).", HEADER_DOC,
           "#pragma once", "#include \"protocol/api_keys.h\"", "#include \"protocol/wire.h\"", "",
           "namespace kgw::protocol {", ""]
    for h in headers:
        out += gen_message_decl(h)
        out.append("")
    out += ["}  // namespace kgw::protocol", ""]
    return "\n".join(out)


def gen_headers_source(headers):
    out = [BANNER, "#include \"protocol/headers.h\"", "", "#include \"protocol/codec_support.h\"", "",
           "namespace kgw::protocol {", ""]
    for h in headers:
        out += gen_message_defs(h)
    out += ["}  // namespace kgw::protocol", ""]
    return "\n".join(out)


def gen_api_keys(schema):
    apis = schema.apis
    rows = []
    for a in sorted(apis, key=lambda a: a.key):
        ff = a.request.first_flexible
        ffs = "never_flexible" if ff == NEVER_FLEXIBLE else str(ff)
        av = a.addresses & a.versions
        afrom = "never_flexible" if av.empty() else str(av.lo)
        tfrom, tafter = throttle_site(a)
        rows.append(f"    {{{a.key}, \"{a.name}\", {a.versions.lo}, {a.versions.hi}, {ffs}, {afrom}, "
                    f"{'true' if a.sensitive else 'false'}, {tfrom}, {tafter}}},")

    def first(v):
        return NEVER_FLEXIBLE if v.empty() else v.lo
    every = sorted([(a.key, a.name, True, False, NEVER_FLEXIBLE, NEVER_FLEXIBLE) for a in apis] +
                   [(n.key, n.name, False, n.addresses, first(n.throttle), first(n.flexible)) for n in schema.names])
    name_rows = [f"    {{{k}, \"{n}\", {'true' if d else 'false'}, {'true' if u else 'false'}, {t}, {f}}},"
                 for k, n, d, u, t, f in every]
    consts = [f"inline constexpr std::int16_t {snake(n)} = {k};" for k, n, *_ in every]
    return "\n".join([
        BANNER,
        "// Every Kafka API: the ones the codec decodes (api_table, sorted by key) with the header",
        "// version each request/response uses and their per-API facts, and the names of all others.",
        "#pragma once",
        "#include <cstdint>",
        "#include <iterator>",
        "#include <span>",
        "#include <string_view>",
        "",
        "#include \"protocol/wire.h\"",
        "",
        "namespace kgw::protocol {",
        "",
        "// API keys by name: api::fetch, api::sasl_authenticate, ...",
        "namespace api {",
        *consts,
        "}  // namespace api",
        "",
        "struct api_info {",
        "  std::int16_t key;",
        "  const char* name;  // e.g. \"Metadata\"",
        "  std::int16_t min_version, max_version;",
        "  std::int16_t first_flexible;  // never_flexible (0x7fff) when no version is flexible",
        "  std::int16_t addresses_from;  // responses from this version on carry broker addresses (0x7fff: none)",
        "  bool sensitive;               // requests carry credentials: never logged, never relayed",
        "  std::int16_t throttle_from;   // responses from this version on carry throttle_time_ms (0x7fff: none)",
        "  std::int8_t throttle_after;   // bytes of fixed-size body fields before it; -1: variable-size ones",
        "};",
        "",
        "inline constexpr api_info api_table[] = {",
        *rows,
        "};",
        "",
        "inline constexpr std::span<const api_info> all_apis() { return api_table; }",
        "",
        "// Index in api_table, -1 when the key is not in the schema.",
        "inline constexpr int api_index(std::int16_t key) {",
        "  for (int i = 0; i < static_cast<int>(std::size(api_table)); ++i)",
        "    if (api_table[i].key == key) return i;",
        "  return -1;",
        "}",
        "",
        "// nullptr when the key is not in the schema.",
        "inline constexpr const api_info* find_api(std::int16_t key) {",
        "  const int i = api_index(key);",
        "  return i < 0 ? nullptr : &api_table[i];",
        "}",
        "",
        "// Every API key Kafka defines, decodable or not.",
        "struct api_name_info {",
        "  std::int16_t key;",
        "  const char* name;",
        "  bool decodable;              // in api_table",
        "  bool unrewritable_addresses;  // not decodable, and its responses carry broker addresses",
        "  // Not decodable: its responses start with throttle_time_ms from this version on, and its",
        "  // flexible versions (response header with tagged fields) from that one (0x7fff: none).",
        "  std::int16_t throttle_from, first_flexible;",
        "};",
        "",
        "inline constexpr api_name_info api_names[] = {",
        *name_rows,
        "};",
        "",
        "// The API's name (\"Fetch\"), nullptr for a key Kafka does not define (as far as the schema knows).",
        "inline constexpr const char* api_name(std::int16_t key) {",
        "  for (const auto& a : api_names)",
        "    if (a.key == key) return a.name;",
        "  return nullptr;",
        "}",
        "",
        "// The key of an API named as Kafka names it (\"OffsetCommit\"), -1 when there is none.",
        "inline constexpr std::int16_t api_key_of(std::string_view name) {",
        "  for (const auto& a : api_names)",
        "    if (name == a.name) return a.key;",
        "  return -1;",
        "}",
        "",
        "// The response to (key, version) may carry broker addresses the gateway must rewrite.",
        "inline constexpr bool carries_addresses(std::int16_t key, std::int16_t version) {",
        "  const api_info* a = find_api(key);",
        "  return a && version >= a->addresses_from;",
        "}",
        "",
        "// An API the codec cannot decode whose responses carry broker addresses (KRaft quorum, share",
        "// groups): never relayed, or an upstream address would reach the client.",
        "inline constexpr bool exposes_unrewritable_addresses(std::int16_t key) {",
        "  for (const auto& a : api_names)",
        "    if (a.key == key) return a.unrewritable_addresses;",
        "  return false;",
        "}",
        "",
        "// 2 for flexible versions, else 1 (ControlledShutdown v0's header v0 is not in the schema).",
        "// -1 when the key is not in the schema. Versions outside the API's range follow the same rule.",
        "inline constexpr std::int16_t request_header_version(std::int16_t key, std::int16_t version) {",
        "  const int i = api_index(key);",
        "  if (i < 0) return -1;",
        "  return version >= api_table[i].first_flexible ? 2 : 1;",
        "}",
        "",
        "// Where a response carries throttle_time_ms: in the body (after the response header)",
        "// `after` bytes in, or after fields of variable size (after < 0: Produce, ApiVersions);",
        "// header_tags: the response header ends in tagged fields. present false: no such field.",
        "struct throttle_place {",
        "  bool present = false;",
        "  bool header_tags = false;",
        "  std::int8_t after = 0;",
        "};",
        "",
        "inline constexpr throttle_place throttle_place_of(std::int16_t key, std::int16_t version) {",
        "  if (const api_info* a = find_api(key)) {",
        "    if (version < a->throttle_from) return {};",
        "    return {true, key != api::api_versions && version >= a->first_flexible, a->throttle_after};",
        "  }",
        "  for (const auto& n : api_names)",
        "    if (n.key == key && version >= n.throttle_from) return {true, version >= n.first_flexible, 0};",
        "  return {};",
        "}",
        "",
        "// 1 for flexible versions, else 0; ApiVersions responses always use 0 (so a client that",
        "// sent a too-new version can still read the error). -1 when the key is not in the schema.",
        "inline constexpr std::int16_t response_header_version(std::int16_t key, std::int16_t version) {",
        "  const int i = api_index(key);",
        "  if (i < 0) return -1;",
        "  if (key == api::api_versions) return 0;",
        "  return version >= api_table[i].first_flexible ? 1 : 0;",
        "}",
        "",
        "}  // namespace kgw::protocol",
        "",
    ])


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gen_errors(schema):
    errs = sorted(schema.errors, key=lambda e: e.code)
    enum = [f"  {snake_upper(e.name)} = {e.code}," for e in errs]
    rows = [f"    {{{e.code}, \"{e.name}\", {'true' if e.retriable else 'false'}, "
            f"{c_string(e.message) if e.message is not None else 'nullptr'}}}," for e in errs]
    return "\n".join([
        BANNER,
        "// Kafka's error codes: one enum whose values are the wire values, and each code's name,",
        "// whether a client may retry it, and the message the gateway gives with it.",
        "#pragma once",
        "#include <cstdint>",
        "",
        "namespace kgw::protocol {",
        "",
        "namespace kafka_error {",
        "// Unscoped: converts to the std::int16_t every error_code field holds.",
        "enum code : std::int16_t {",
        *enum,
        "};",
        "}  // namespace kafka_error",
        "",
        "struct error_info {",
        "  std::int16_t code;",
        "  const char* name;     // \"TOPIC_AUTHORIZATION_FAILED\"",
        "  bool retriable;",
        "  const char* message;  // nullptr: the gateway never gives this error itself",
        "};",
        "",
        "inline constexpr error_info error_table[] = {",
        *rows,
        "};",
        "",
        "// nullptr for a code the schema does not know.",
        "inline constexpr const error_info* find_error(std::int16_t code) {",
        "  for (const auto& e : error_table)",
        "    if (e.code == code) return &e;",
        "  return nullptr;",
        "}",
        "",
        "// \"UNKNOWN_TOPIC_ID\"; nullptr for an unknown code.",
        "inline constexpr const char* error_name(std::int16_t code) {",
        "  const error_info* e = find_error(code);",
        "  return e ? e->name : nullptr;",
        "}",
        "",
        "// The message to send with an error the gateway gives; nullptr for none and for codes it never gives.",
        "inline constexpr const char* error_message(std::int16_t code) {",
        "  const error_info* e = find_error(code);",
        "  return e ? e->message : nullptr;",
        "}",
        "",
        "inline constexpr bool error_retriable(std::int16_t code) {",
        "  const error_info* e = find_error(code);",
        "  return e && e->retriable;",
        "}",
        "",
        "}  // namespace kgw::protocol",
        "",
    ])


def snake_upper(name):
    n = name.lower()
    return n + "_" if n in CPP_KEYWORDS else n


# ----------------------------------------------------------------------------------------------
# Test samples: fill_sample(message, version, variant) gives every field present in that version
# a non-default value (arrays of two, nested structs filled, nulls per variant, unknown tagged
# fields in flexible versions).


def stable_hash(text):
    h = 2166136261
    for ch in text.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def sample_scalar(f, key, k):
    """Expression for a non-default scalar value; k is a C++ int expression."""
    b = f.base
    base = 2 + stable_hash(key) % 50
    if b in ("int8", "int16", "int32"):
        t = INT_TYPES[b][0]
        return f"static_cast<{t}>(({k}) % 2 ? -({base} + ({k})) : {base} + ({k}))"
    if b in ("uint16", "uint32"):
        return f"static_cast<{INT_TYPES[b][0]}>({base} + ({k}))"
    if b == "int64":
        return f"static_cast<std::int64_t>(({k}) % 2 ? -({base} + ({k})) * 1000000007LL : ({base} + ({k})) * 1000000007LL)"
    if b == "bool":
        return "false" if (f.default == "true") else "true"
    if b == "float64":
        return f"(0.5 + ({k}))"
    if b == "uuid":
        return f"testing::sample_uuid({base} + ({k}))"
    if b == "string":
        return f"testing::sample_string({base} + ({k}))"
    if b in ("bytes", "records"):
        return f"testing::sample_bytes({base} + ({k}))"
    raise AssertionError(b)


def gen_sample_body(owner, fields, msg, versions, cls_key):
    out = []
    all_tags = {f.tag for f in fields if f.tag is not None}
    for idx, f in enumerate(fields):
        c = cond(f.versions, versions)
        if c == "false":
            continue
        fv = versions & f.versions
        key = f"{cls_key}.{f.name}"
        stmts = []
        x = f"s.{f.name}"
        can_null = f.optional and not (f.nullable & fv).empty()
        if f.is_array:
            if f.is_struct:
                stmts.append(f"auto& a = {x}{'.emplace()' if f.optional else ''};")
                stmts.append("a.resize(2);")
                stmts.append("fill(a[0], v, 2 * k + 1, variant);")
                stmts.append("fill(a[1], v, 2 * k + 2, variant);")
            else:
                t = elem_ctype(f, "")
                stmts.append(f"{x} = std::vector<{t}>{{{sample_scalar(f, key, 'k')}, {sample_scalar(f, key, 'k + 1')}}};")
        elif f.is_struct:
            if f.optional:
                stmts.append(f"fill({x}.emplace(), v, k + 1, variant);")
            else:
                stmts.append(f"fill({x}, v, k + 1, variant);")
        else:
            stmts.append(f"{x} = {sample_scalar(f, key, 'k')};")
        ind = "  "
        if c != "true":
            out.append(f"  if ({c}) {{")
            ind = "    "
        if can_null:
            nc = cond(f.nullable, fv)
            test = f"testing::sample_null(variant, {idx})" + ("" if nc == "true" else f" && {paren(nc)}")
            out.append(f"{ind}if ({test}) {{")
            out.append(f"{ind}  {x}.reset();")
            out.append(f"{ind}}} else {{")
            out += [f"{ind}  {s}" for s in stmts]
            out.append(f"{ind}}}")
        elif len(stmts) == 1:
            out.append(f"{ind}{stmts[0]}")
        else:
            out.append(f"{ind}{{")
            out += [f"{ind}  {s}" for s in stmts]
            out.append(f"{ind}}}")
        if c != "true":
            out.append("  }")
    if struct_flexible(msg, versions):
        t1 = next(t for t in range(0, 1000) if t not in all_tags)
        t2 = next(t for t in range(300, 100000) if t not in all_tags)
        fc = cond(msg.flexible, versions)
        stmt = f"s.unknown_tagged_fields = testing::sample_unknown_tags({t1}, {t2});"
        out += guarded(fc, stmt, "  ")
    if not out:
        out.append("  (void)s;")
    out.insert(0, "  (void)v;\n  (void)k;\n  (void)variant;")
    return out


def gen_samples_for(msgs, file_header):
    out = [BANNER, "// Test-only: sample messages for the round-trip tests.", f"#include \"protocol/{file_header}\"",
           "#include \"protocol/samples.h\"", "#include \"protocol/testing/sample_values.h\"", "",
           "namespace kgw::protocol::testing {", "namespace {", ""]
    # forward declarations so structs can be filled in any order
    for m in msgs:
        for s in m.structs:
            out.append(f"void fill(struct {m.cname}::{s.cname}& s, std::int16_t v, int k, int variant);")
    out.append("")
    for m in msgs:
        for s in m.structs:
            out.append(f"void fill(struct {m.cname}::{s.cname}& s, std::int16_t v, int k, int variant) {{")
            out += gen_sample_body(s, s.fields, m, s.versions, f"{m.name}.{s.name}")
            out.append("}")
            out.append("")
    out.append("}  // namespace")
    out.append("")
    for m in msgs:
        out.append(f"void fill_sample({m.cname}& s, std::int16_t v, int variant) {{")
        out.append("  s = {};")
        out.append("  const int k = variant;")
        out += gen_sample_body(m, m.fields, m, m.versions, m.name)
        out.append("}")
        out.append(f"const char* message_name(const {m.cname}&) {{ return \"{m.name}\"; }}")
        out.append("")
    out += ["}  // namespace kgw::protocol::testing", ""]
    return "\n".join(out)


def gen_samples_header(apis, headers):
    msgs = headers + [m for a in apis for m in (a.request, a.response)]
    out = [BANNER,
           "// Test-only (target kgw_protocol_samples): fill_sample() gives every field present in `version` a",
           "// non-default value: arrays of two elements, nested structs filled, nullable fields null or not",
           "// by `variant` (0 <= variant < testing::sample_variants), non-ASCII strings, and two unknown",
           "// tagged fields per struct in flexible versions. Views point at static storage.",
           "#pragma once", "#include <cstdint>", "#include <tuple>", ""]
    out.append("#include \"protocol/headers.h\"")
    for a in apis:
        out.append(f"#include \"protocol/{a.file}.h\"")
    out += ["", "namespace kgw::protocol::testing {", ""]
    for m in msgs:
        out.append(f"void fill_sample({m.cname}& m, std::int16_t version, int variant);")
        out.append(f"const char* message_name(const {m.cname}&);")
    out.append("")
    out.append("using all_messages = std::tuple<")
    out.append(",\n".join(f"    {m.cname}" for m in msgs) + ">;")
    out += ["", "}  // namespace kgw::protocol::testing", ""]
    return "\n".join(out)


def outputs(apis):
    files = ["protocol/headers.h", "protocol/headers.cpp", "protocol/api_keys.h", "protocol/errors.h",
             "protocol/samples.h", "protocol/sample_headers.cpp"]
    for a in apis:
        files += [f"protocol/{a.file}.h", f"protocol/{a.file}.cpp", f"protocol/sample_{a.file}.cpp"]
    return files


def generate(schema):
    apis, headers = schema.apis, schema.headers
    files = {
        "protocol/headers.h": gen_headers_header(headers),
        "protocol/headers.cpp": gen_headers_source(headers),
        "protocol/api_keys.h": gen_api_keys(schema),
        "protocol/errors.h": gen_errors(schema),
        "protocol/samples.h": gen_samples_header(apis, headers),
        "protocol/sample_headers.cpp": gen_samples_for(headers, "headers.h"),
    }
    for a in apis:
        files[f"protocol/{a.file}.h"] = gen_api_header(a)
        files[f"protocol/{a.file}.cpp"] = gen_api_source(a, f"{a.file}.h")
        files[f"protocol/sample_{a.file}.cpp"] = gen_samples_for([a.request, a.response], f"{a.file}.h")
    assert sorted(files) == sorted(outputs(apis))
    return files


def dump(schema):
    """Normalized listing (one line per field with its full path) used to review the schema."""
    apis, headers = schema.apis, schema.headers
    lines = []

    def fields(prefix, fs):
        for f in fs:
            extra = []
            if not f.nullable.empty():
                extra.append(f"nullable={f.nullable}")
            if f.tag is not None:
                extra.append(f"tag={f.tag}")
            if f.default is not None:
                extra.append(f"default={f.default}")
            if f.flexible is not None:
                extra.append(f"flexible={f.flexible}")
            lines.append(f"{prefix}.{f.name} {f.type} {f.versions} {' '.join(extra)}".rstrip())
            if f.struct is not None:
                fields(f"{prefix}.{f.name}", f.struct.fields)

    for h in headers:
        lines.append(f"{h.name} versions={h.versions} flexible={h.flexible}")
        fields(h.name, h.fields)
    for a in apis:
        for m in (a.request, a.response):
            lines.append(f"{m.name} key={a.key} versions={m.versions} flexible={m.flexible}")
            fields(m.name, m.fields)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("schema")
    ap.add_argument("--out")
    ap.add_argument("--stamp", help="file to touch after a successful run")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--dump", action="store_true")
    args = ap.parse_args()
    try:
        schema = parse(args.schema)
    except SchemaError as e:
        print(f"kgs_gen: error: {e}", file=sys.stderr)
        return 1
    if args.list:
        print(";".join(outputs(schema.apis)))
        return 0
    if args.dump:
        sys.stdout.write(dump(schema))
        return 0
    if not args.out:
        ap.error("--out is required")
    for rel, text in generate(schema).items():
        path = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, encoding="utf-8") as fh:
                if fh.read() == text:
                    continue
        except FileNotFoundError:
            pass
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)
    if args.stamp:
        with open(args.stamp, "w") as fh:
            fh.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
