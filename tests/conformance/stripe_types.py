"""Stripe's response types, read from the TypeScript declarations that stripe-node generates from Stripe's OpenAPI
spec (`esm/resources/*.d.ts` in the npm package), and a checker of JSON responses against them.

The declarations are ES modules: `export interface Customer {...}` with its nested types in
`export declare namespace Customer { interface InvoiceSettings {...} namespace InvoiceSettings {...} }`, other files'
types imported by name (`import { PaymentMethod } from './PaymentMethods.js'`, `import * as TestHelpers from
'./TestHelpers/index.js'`), and enums as `type Status = 'active' | 'canceled' | OtherString`. The parser reads that
subset of TypeScript: interfaces (merged, `extends`, generic ones like `ApiList<T>`), namespaces, type aliases,
imports and re-exports; classes, functions and constants are skipped, and so is every `*Params` interface and
namespace (request types, not response types). Modules are parsed on first use.

A type is kept as its syntax tree (`Ref`, `Union`, `Lit`, ...) together with the scope it was written in, and names
are resolved as TypeScript does: the innermost namespace outwards, then the module's imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

# --- syntax -------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s+|/\*.*?\*/|//[^\n]*
    |(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<num>\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_$][\w$]*)
    |(?P<punct>=>|\.\.\.|[^\s\w])""",
    re.S | re.X,
)
_PRIMITIVES = {'string', 'number', 'boolean', 'null', 'undefined', 'void', 'any', 'unknown', 'never', 'object'}


@dataclass(frozen=True)
class Prim:
    name: str  # one of _PRIMITIVES


@dataclass(frozen=True)
class Lit:
    value: str | int | float | bool


@dataclass(frozen=True)
class Ref:
    name: tuple[str, ...]  # ('TestHelpers', 'TestClock')
    args: tuple = ()


@dataclass(frozen=True)
class Union:
    items: tuple


@dataclass(frozen=True)
class Intersection:
    items: tuple


@dataclass(frozen=True)
class ArrayOf:
    item: Any


@dataclass(frozen=True)
class Member:
    name: str
    optional: bool
    type: Any


@dataclass(frozen=True)
class ObjectLiteral:
    """An inline `{ name: T; [key: string]: U }`."""

    members: tuple[Member, ...]
    index: Any = None


def type_text(node) -> str:
    """The type as TypeScript would print it."""
    match node:
        case Prim(name):
            return name
        case Lit(value):
            return repr(value) if isinstance(value, str) else str(value).lower()
        case Ref(name, args):
            return '.'.join(name) + (f'<{", ".join(type_text(a) for a in args)}>' if args else '')
        case Union(items):
            return ' | '.join(type_text(i) for i in items)
        case Intersection(items):
            return ' & '.join(type_text(i) for i in items)
        case ArrayOf(item):
            return f'Array<{type_text(item)}>'
        case ObjectLiteral(members, index):
            parts = [f'{m.name}{"?" if m.optional else ""}: {type_text(m.type)}' for m in members]
            if index is not None:
                parts.append(f'[key: string]: {type_text(index)}')
            return '{ ' + '; '.join(parts) + ' }'
    return repr(node)


class _Parser:
    """A recursive-descent parser for the declarations stripe-node ships."""

    def __init__(self, text: str, module: Module) -> None:
        self.tokens = [
            (match.lastgroup, match.group(match.lastgroup))
            for match in _TOKEN.finditer(text)
            if match.lastgroup is not None
        ]
        self.pos = 0
        self.module = module

    # tokens
    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.tokens[index][1] if index < len(self.tokens) else ''

    def peek_kind(self) -> str:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else ''

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if expected is not None and token != expected:
            context = ' '.join(t for _, t in self.tokens[max(self.pos - 8, 0) : self.pos + 8])
            raise SyntaxError(f'{self.module.path}: expected {expected!r}, got {token!r} near: {context}')
        self.pos += 1
        return token

    def accept(self, token: str) -> bool:
        if self.peek() == token:
            self.pos += 1
            return True
        return False

    def skip_balanced(self) -> None:
        """Skip from an opening bracket to its partner."""
        opening = self.take()
        closing = {'{': '}', '(': ')', '[': ']', '<': '>'}[opening]
        depth = 1
        while depth:
            token = self.take()
            depth += (token == opening) - (token == closing)

    def skip_statement(self) -> None:
        """Skip up to the end of a statement: a `;` or a balanced `{...}` block at depth zero."""
        while self.pos < len(self.tokens):
            token = self.peek()
            if token == ';':
                self.pos += 1
                return
            if token == '{':
                self.skip_balanced()
                self.accept(';')
                return
            if token in '([':
                self.skip_balanced()
                continue
            self.pos += 1

    # declarations
    def parse_body(self, scope: Scope, *, top: bool) -> None:
        while self.pos < len(self.tokens) and self.peek() != '}':
            self.parse_statement(scope, top=top)

    def parse_statement(self, scope: Scope, *, top: bool) -> None:
        if self.accept(';'):
            return
        if self.peek() == 'import':
            self.take()
            if top:
                self.parse_import()
            elif self.peek_kind() == 'name' and self.peek(1) == '=':
                name = self.take()
                self.take('=')
                scope.symbol(name).links.append(('scope', scope.parent, self.parse_qualified()))
                self.accept(';')
            else:
                self.skip_statement()
            return
        self.accept('export')
        self.accept('declare')
        keyword = self.peek()
        if keyword == 'interface':
            self.take()
            self.parse_interface(scope)
        elif keyword == 'namespace':
            self.take()
            names = [self.take()]
            while self.accept('.'):
                names.append(self.take())
            if names[-1].endswith('Params'):
                self.skip_statement()
                return
            inner = scope
            for name in names:
                inner = inner.symbol(name).namespace(inner)
            self.take('{')
            self.parse_body(inner, top=False)
            self.take('}')
        elif keyword == 'type':
            self.take()
            name = self.take()
            params = self.parse_type_params()
            self.take('=')
            alias_type = self.parse_type()
            self.accept(';')
            scope.symbol(name).alias = (params, alias_type)
        elif keyword == 'import' and not top:
            self.parse_statement(scope, top=top)
        elif keyword == '{':
            self.parse_export_list(scope, top=top)
        elif keyword == '*' and top:
            self.take()
            if self.accept('as'):
                name = self.take()
                self.take('from')
                self.module.reexports[name] = ('module', self.module.resolve_path(self.take()))
            else:
                self.take('from')
                self.module.star_reexports.append(self.module.resolve_path(self.take()))
            self.accept(';')
        elif keyword == 'class':
            self.take()
            name = self.take()
            scope.symbol(name).is_class = True
            self.skip_statement()
        else:  # const, function, let, default, enum, abstract class, ...
            self.skip_statement()

    def parse_import(self) -> None:
        module = self.module
        self.accept('type')
        if self.peek_kind() == 'str':  # import './side-effect.js'
            self.take()
            self.accept(';')
            return
        if self.accept('*'):
            self.take('as')
            name = self.take()
            self.take('from')
            module.imports[name] = ('module', module.resolve_path(self.take()))
        elif self.peek() == '{':
            names = self.parse_name_list()
            self.take('from')
            path = module.resolve_path(self.take())
            for exported, local in names:
                module.imports[local] = ('export', path, exported)
        else:  # a default import
            self.skip_statement()
            return
        self.accept(';')

    def parse_name_list(self) -> list[tuple[str, str]]:
        self.take('{')
        names = []
        while not self.accept('}'):
            self.accept('type')
            exported = self.take()
            local = self.take() if self.accept('as') else exported
            names.append((exported, local))
            self.accept(',')
        return names

    def parse_export_list(self, scope: Scope, *, top: bool) -> None:
        names = self.parse_name_list()
        if self.accept('from'):
            path = self.module.resolve_path(self.take())
            for exported, local in names:
                self.module.reexports[local] = ('export', path, exported)
        elif not top:  # `export { Session }` inside a namespace: the name as seen from outside it
            for name, alias in names:
                scope.symbol(alias).links.append(('scope', scope.parent, (name,)))
        self.accept(';')

    def parse_interface(self, scope: Scope) -> None:
        name = self.take()
        if name.endswith('Params'):
            self.skip_statement()
            return
        params = self.parse_type_params()
        bases = []
        if self.accept('extends'):
            bases.append(self.parse_type())
            while self.accept(','):
                bases.append(self.parse_type())
        members, index = self.parse_members()
        symbol = scope.symbol(name)
        symbol.interfaces.append(Interface(name, scope, params, tuple(bases), members, index))

    def parse_type_params(self) -> tuple[str, ...]:
        params = []
        if self.accept('<'):
            while not self.accept('>'):
                params.append(self.take())
                if self.accept('extends') or self.accept('='):
                    self.parse_type()
                self.accept(',')
        return tuple(params)

    def parse_members(self) -> tuple[tuple[Member, ...], Any]:
        self.take('{')
        members, index = [], None
        while not self.accept('}'):
            self.accept('readonly')
            if self.peek() == '[' and self.peek(2) == ']':  # a computed key, [__brand]: T: not data
                self.skip_balanced()
                self.accept('?')
                self.take(':')
                self.parse_type()
            elif self.peek() == '[':  # [key: string]: T
                self.take('[')
                self.take()
                self.take(':')
                self.parse_type()
                self.take(']')
                self.take(':')
                index = self.parse_type()
            else:
                token = self.take()
                name = token[1:-1] if token[0] in '\'"' else token
                optional = self.accept('?')
                if self.peek() in ('(', '<'):  # a method: not data
                    while self.peek() not in (';', ',', '}'):
                        if self.peek() in '({[<':
                            self.skip_balanced()
                        else:
                            self.take()
                else:
                    self.take(':')
                    members.append(Member(name, optional, self.parse_type()))
            if not self.accept(';'):
                self.accept(',')
        return tuple(members), index

    # types
    def parse_qualified(self) -> tuple[str, ...]:
        names = [self.take()]
        while self.peek() == '.' and self.tokens[self.pos + 1][0] == 'name':
            self.take('.')
            names.append(self.take())
        return tuple(names)

    def parse_type(self):
        self.accept('|')
        items = [self.parse_intersection()]
        while self.accept('|'):
            items.append(self.parse_intersection())
        return items[0] if len(items) == 1 else Union(tuple(items))

    def parse_intersection(self):
        items = [self.parse_postfix()]
        while self.accept('&'):
            items.append(self.parse_postfix())
        return items[0] if len(items) == 1 else Intersection(tuple(items))

    def parse_postfix(self):
        node = self.parse_primary()
        while self.peek() == '[' and self.peek(1) == ']':
            self.take('[')
            self.take(']')
            node = ArrayOf(node)
        return node

    def parse_primary(self):
        kind, token = self.tokens[self.pos]
        if token == '(':
            self.take()
            node = self.parse_type()
            self.take(')')
            return node
        if token == '{':
            members, index = self.parse_members()
            return ObjectLiteral(members, index)
        if token == '[':  # a tuple: rare, kept loose
            self.skip_balanced()
            return ArrayOf(Prim('any'))
        if kind == 'str':
            self.take()
            return Lit(token[1:-1])
        if kind == 'num':
            self.take()
            return Lit(float(token) if '.' in token else int(token))
        if token == '-' and self.tokens[self.pos + 1][0] == 'num':
            self.take()
            number = self.take()
            return Lit(-(float(number) if '.' in number else int(number)))
        if token in ('true', 'false'):
            self.take()
            return Lit(token == 'true')
        if token in _PRIMITIVES:
            self.take()
            return Prim(token)
        if token in ('typeof', 'keyof', 'unique'):
            self.take()
            self.parse_primary()
            return Prim('any')
        if token == 'import':  # import('./Types.js').X
            self.take()
            self.skip_balanced()
            self.take('.')
            self.parse_qualified()
            return Prim('any')
        name = self.parse_qualified()
        args = []
        if self.accept('<'):
            args.append(self.parse_type())
            while self.accept(','):
                args.append(self.parse_type())
            self.take('>')
        return Ref(name, tuple(args))


# --- modules and names ----------------------------------------------------------------------------------------


@dataclass(eq=False)
class Interface:
    name: str
    scope: Scope
    params: tuple[str, ...]
    bases: tuple
    members: tuple[Member, ...]
    index: Any


@dataclass(eq=False)
class Symbol:
    """Everything one name means in one scope: TypeScript merges an interface and a namespace of the same name."""

    name: str
    scope: Scope
    interfaces: list[Interface] = field(default_factory=list)
    alias: tuple | None = None  # (type params, type)
    inner: Scope | None = None  # the namespace of this name
    is_class: bool = False
    links: list = field(default_factory=list)  # what `export { X }` / `export import X = A.B` point to

    def namespace(self, parent: Scope) -> Scope:
        if self.inner is None:
            self.inner = Scope(parent.module, parent, f'{parent.prefix}{self.name}.')
        return self.inner

    @property
    def qualname(self) -> str:
        return f'{self.scope.prefix}{self.name}'


@dataclass(eq=False)
class Scope:
    module: Module
    parent: Scope | None
    prefix: str  # 'Customer.' for the namespace Customer, '' for the module
    names: dict[str, Symbol] = field(default_factory=dict)

    def symbol(self, name: str) -> Symbol:
        if name not in self.names:
            self.names[name] = Symbol(name, self)
        return self.names[name]


class Module:
    def __init__(self, types: StripeTypes, path: Path) -> None:
        self.types = types
        self.path = path
        self.scope = Scope(self, None, '')
        self.imports: dict[str, tuple] = {}
        self.reexports: dict[str, tuple] = {}
        self.star_reexports: list[Path] = []
        parser = _Parser(path.read_text(encoding='utf-8'), self)
        parser.parse_body(self.scope, top=True)

    def resolve_path(self, literal: str) -> Path:
        target = literal[1:-1]
        if not target.startswith('.'):
            return Path('/nonexistent') / target  # node's own modules: nothing a response uses
        resolved = (self.path.parent / target).resolve()
        return resolved.with_name(resolved.name.removesuffix('.js') + '.d.ts')

    @cached_property
    def label(self) -> str:
        """'Customers', 'Checkout/Sessions': where the module lies under resources/."""
        root = self.types.resources
        try:
            return self.path.relative_to(root).as_posix().removesuffix('.d.ts')
        except ValueError:
            return self.path.name.removesuffix('.d.ts')


class StripeTypes:
    """The declarations of one unpacked stripe-node package (the folder that holds `package.json`)."""

    def __init__(self, package: Path) -> None:
        self.package = Path(package)
        self.resources = (self.package / 'esm' / 'resources').resolve()
        self._modules: dict[Path, Module | None] = {}
        self._by_object: dict[str, list[tuple[Path, str]]] | None = None
        self._shapes: dict[tuple, tuple] = {}
        self.memo: dict[tuple, Any] = {}  # resolve() and flatten(), by (what, node, Env)

    @property
    def version(self) -> str:
        return (self.package / 'VERSION').read_text().strip()

    @property
    def api_version(self) -> str:
        text = (self.package / 'esm' / 'apiVersion.d.ts').read_text()
        return re.search(r'ApiVersion = "([^"]+)"', text).group(1)

    def module(self, path: Path) -> Module | None:
        if path not in self._modules:
            resolved = Path(path).resolve()
            if resolved not in self._modules:
                self._modules[resolved] = None  # a cycle of re-exports finds nothing rather than looping
                self._modules[resolved] = Module(self, resolved) if resolved.is_file() else None
            self._modules[path] = self._modules[resolved]
        return self._modules[path]

    # names
    def export(self, path: Path, name: str, seen: frozenset = frozenset()) -> Symbol | Module | None:
        """What module `path` exports as `name`."""
        module = self.module(path)
        if module is None or (path, name) in seen:
            return None
        seen = seen | {(path, name)}
        if name in module.scope.names:
            return self.deref(module.scope.names[name])
        if name in module.reexports:
            return self._follow(module.reexports[name], seen)
        for star in module.star_reexports:
            if (found := self.export(star, name, seen)) is not None:
                return found
        return None

    def _follow(self, link: tuple, seen: frozenset = frozenset()) -> Symbol | Module | None:
        if link[0] == 'module':
            return self.module(link[1])
        if link[0] == 'export':
            return self.export(link[1], link[2], seen)
        return self.lookup(link[1], link[2])  # ('scope', scope, qualified name)

    def deref(self, symbol: Symbol) -> Symbol | Module | None:
        """A symbol, or what an `export { X }` / `export import X = ...` of that name stands for."""
        if symbol.interfaces or symbol.alias or symbol.inner or symbol.is_class or not symbol.links:
            return symbol
        return self._follow(symbol.links[0])

    def lookup(self, scope: Scope | None, name: tuple[str, ...]) -> Symbol | Module | None:
        """Resolve a (dotted) type name written in `scope`, as TypeScript does."""
        found = None
        while scope is not None:
            if name[0] in scope.names:
                found = self.deref(scope.names[name[0]])
                break
            if scope.parent is None and name[0] in scope.module.imports:
                found = self._follow(scope.module.imports[name[0]])
                break
            scope = scope.parent
        for part in name[1:]:
            found = self.member(found, part)
        return found

    def member(self, found: Symbol | Module | None, name: str) -> Symbol | Module | None:
        if isinstance(found, Module):
            return self.export(found.path, name)
        if isinstance(found, Symbol):
            if found.inner is not None and name in found.inner.names:
                return self.deref(found.inner.names[name])
            for link in found.links:  # a merged name whose namespace lies elsewhere
                if (target := self._follow(link)) is not None and target is not found:
                    return self.member(target, name)
        return None

    def symbol(self, module: str, name: str) -> Symbol:
        """A declaration by module label and dotted name, e.g. symbol('Customers', 'Customer.InvoiceSettings')."""
        found = self.lookup(self.module(self.resources / f'{module}.d.ts').scope, tuple(name.split('.')))
        if not isinstance(found, Symbol):
            raise KeyError(f'{module}: {name} is not declared')
        return found

    # the resources
    def by_object(self, object_name: str) -> list[Symbol]:
        """The top-level interfaces whose `object` is this literal: 'customer' gives Customer and DeletedCustomer."""
        if self._by_object is None:
            self._by_object = {}
            pattern = re.compile(
                r'^export interface (\w+)(?: extends [^{]+)? \{\n(.*?)^\}', re.M | re.S
            )  # a cheap scan: the modules themselves are parsed when a response needs them
            for path in sorted(self.resources.rglob('*.d.ts')):
                if path.relative_to(self.resources).parts[0] == 'V2':
                    continue
                for match in pattern.finditer(path.read_text(encoding='utf-8')):
                    literal = re.search(r"^    object: '([^']+)';$", match.group(2), re.M)
                    if literal and literal.group(1) not in ('list', 'search_result'):
                        self._by_object.setdefault(literal.group(1), []).append((path, match.group(1)))
        return [self.export(path, name) for path, name in self._by_object.get(object_name, [])]

    def symbol_in(self, path: Path, name: str) -> Symbol:
        """A declaration by file and dotted name, for files outside resources/ (`lib.d.ts`'s ApiList)."""
        found = self.lookup(self.module(path).scope, tuple(name.split('.')))
        if not isinstance(found, Symbol):
            raise KeyError(f'{path}: {name} is not declared')
        return found

    def fields(self, symbol: Symbol, bindings: tuple = ()) -> list[Field]:
        """The data fields of an interface, its bases' included, in declaration order."""
        return list(self.shape(symbol, bindings)[0].values())

    def shape(self, symbol: Symbol, bindings: tuple = ()) -> tuple[dict[str, Field], tuple | None]:
        """The fields of an interface by name, and its index signature's (type, Env) if it has one."""
        key = (id(symbol), bindings)
        if key not in self._shapes:
            fields: dict[str, Field] = {}
            index = None
            for interface in symbol.interfaces:
                env = Env(interface.scope, bindings)
                for base in interface.bases:
                    resolved = resolve(self, base, env)
                    if isinstance(resolved, Resolved) and resolved.symbol is not None:
                        base_fields, base_index = self.shape(resolved.symbol, resolved.env.bindings)
                        fields.update(base_fields)
                        index = base_index or index
                for member in interface.members:
                    can_be_null = nullable(self, member.type, env)
                    fields[member.name] = Field(member.name, member.optional, can_be_null, member.type, env)
                if interface.index is not None:
                    index = (interface.index, env)
            self._shapes[key] = (fields, index)
        return self._shapes[key]

    def interfaces(self, module: str) -> dict[str, list[Field]]:
        """Every response interface of a module, nested namespaces' included, with its fields: e.g. for 'Customers',
        {'Customer': [...], 'DeletedCustomer': [...], 'Customer.InvoiceSettings': [...], 'Customer.Tax.Location': ...}.
        """
        found: dict[str, list[Field]] = {}

        def walk(scope: Scope) -> None:
            for symbol in scope.names.values():
                if symbol.interfaces:
                    found[symbol.qualname] = self.fields(symbol)
                if symbol.inner is not None:
                    walk(symbol.inner)

        walk(self.module(self.resources / f'{module}.d.ts').scope)
        return found

    def kind_of(self, field: Field) -> str:
        """What a field's type is, in a word: primitive, enum, object, expandable (an id or the object), list
        (ApiList), array, metadata, map (an index signature) or union."""
        alternatives = [node for node, _ in flatten(self, field.type, field.env) if node != Prim('null')]
        refs = [resolve(self, node, env) for node, env in flatten(self, field.type, field.env) if isinstance(node, Ref)]
        names = {ref.symbol.name for ref in refs if isinstance(ref, Resolved) and ref.symbol is not None}
        if all(isinstance(node, Lit) or node == Prim('otherstring') for node in alternatives):
            return 'enum'
        if len(alternatives) == 1:
            node = alternatives[0]
            if isinstance(node, Prim):
                return 'primitive'
            if isinstance(node, ArrayOf) or any(ref.kind == 'array' for ref in refs if isinstance(ref, Resolved)):
                return 'array'
            if names == {'ApiList'}:
                return 'list'
            if names == {'Metadata'}:
                return 'metadata'
            if isinstance(node, ObjectLiteral):
                return 'map' if node.index is not None and not node.members else 'object'
            if isinstance(node, Ref):
                return 'object' if names else 'primitive'  # Decimal is a string
        if Prim('string') in alternatives and names and len(alternatives) == len(names) + 1:
            return 'expandable'
        return 'union'

    def display_name(self, symbol: Symbol) -> str:
        """'Customer', 'Checkout.Session', 'TestHelpers.TestClock': the name Stripe's docs use."""
        folders = symbol.scope.module.label.split('/')[:-1]
        return '.'.join([*folders, symbol.qualname])


@dataclass(frozen=True)
class Field:
    name: str
    optional: bool  # `name?:`: may be absent
    nullable: bool  # `| null`: may be null
    type: Any  # the declared type, as a tree (see type_text)
    env: Env

    def __str__(self) -> str:
        return f'{self.name}{"?" if self.optional else ""}: {type_text(self.type)}'


@dataclass(frozen=True)
class Env:
    """Where a type was written (its scope) and what the type parameters in it stand for."""

    scope: Scope
    bindings: tuple = ()  # ((name, (type, Env)), ...)

    def bound(self, name: str):
        for key, value in self.bindings:
            if key == name:
                return value
        return None


def nullable(types: StripeTypes, node, env: Env) -> bool:
    return any(isinstance(item, Prim) and item.name == 'null' for item, _ in flatten(types, node, env))


# --- resolving types ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A type reference resolved to an interface (with its type arguments) or to something the checker knows."""

    kind: str  # 'interface', 'array', 'partial', 'record', 'string', 'any', 'unresolved'
    symbol: Symbol | None = None
    env: Env | None = None
    item: tuple | None = None  # (type, Env) for array / partial / record
    name: str = ''


def resolve(types: StripeTypes, node: Ref, env: Env):
    """A reference, resolved: a type alias becomes the (type, Env) it stands for, anything else a `Resolved`."""
    key = ('resolve', node, env)
    if key not in types.memo:
        types.memo[key] = _resolve(types, node, env)
    return types.memo[key]


def _resolve(types: StripeTypes, node: Ref, env: Env):
    if len(node.name) == 1 and (bound := env.bound(node.name[0])) is not None:
        return bound
    args = tuple((arg, env) for arg in node.args)
    head = node.name[-1]
    if len(node.name) == 1:
        if head in ('Array', 'ReadonlyArray'):
            return Resolved('array', item=args[0])
        if head == 'Partial':
            return Resolved('partial', item=args[0])
        if head == 'Record':
            return Resolved('record', item=args[1])
    found = types.lookup(env.scope, node.name)
    if isinstance(found, Symbol) and found.name == 'Decimal' and found.scope.module.path.name == 'Decimal.d.ts':
        return Resolved('string', name='Decimal')  # stripe-node's decimal class: a decimal string on the wire
    if not isinstance(found, Symbol):
        return Resolved('unresolved', name='.'.join(node.name))
    if found.alias is not None and not found.interfaces:
        params, alias_type = found.alias
        if found.name == 'OtherString':
            return (Prim('otherstring'), env)
        return (alias_type, Env(found.scope, tuple(zip(params, args, strict=False))))
    if found.interfaces:
        params = found.interfaces[0].params
        return Resolved('interface', symbol=found, env=Env(found.scope, tuple(zip(params, args, strict=False))))
    return Resolved('unresolved', name=found.qualname)


def flatten(types: StripeTypes, node, env: Env) -> list[tuple[Any, Env]]:
    """The alternatives of a type, type aliases and nested unions expanded; interfaces stay references."""
    key = ('flatten', node, env)
    if key not in types.memo:
        types.memo[key] = _flatten(types, node, env)
    return types.memo[key]


def _flatten(types: StripeTypes, node, env: Env) -> list[tuple[Any, Env]]:
    out: list[tuple[Any, Env]] = []
    stack = [(node, env)]
    while stack:
        current, current_env = stack.pop()
        if isinstance(current, Union):
            stack.extend((item, current_env) for item in reversed(current.items))
        elif isinstance(current, Intersection):
            primitive = [item for item in current.items if isinstance(item, Prim)]
            if primitive and primitive[0].name == 'string':  # OtherString is `string & Record<never, never>`
                out.append((Prim('otherstring'), current_env))
            else:
                out.append((current, current_env))
        elif isinstance(current, Ref):
            resolved = resolve(types, current, current_env)
            if isinstance(resolved, tuple):
                stack.append(resolved)
            else:
                out.append((current, current_env))
        else:
            out.append((current, current_env))
    return out
