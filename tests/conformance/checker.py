"""Checks a JSON response against Stripe's TypeScript types (see stripe_types.py) and reports every fault.

What counts as a fault, as the types say it:
- `missing`: a required field (`name: T`, not `name?: T`) is absent;
- `null`: a field is null but its type has no `| null` (an optional non-nullable field must be absent or non-null);
- `absent`: a field typed `void` (`deleted?: void` on live objects) is present;
- `unknown`: a field the type does not declare (fields that `expand` fills are declared, as `string | Customer`
  or as optional lists such as `line_items?: ApiList<LineItem>`, so they pass);
- `type`: a JSON value of the wrong kind (a string where the type says number, an object where it says string, ...);
- `enum`: a string outside the literals of its union. stripe-node adds `| OtherString` to its enums so that code
  compiles against newer API versions; a response at the pinned version must use the literals listed, so the check
  ignores OtherString;
- `variant`: an object matching no member of a union (an event `type` stripe-node does not know, say; its
  `data.object` is then checked by its own `object`).

A union of objects (`Customer | DeletedCustomer`, the 250 `Event` variants) is told apart by the fields typed with a
literal (`object`, `type`, `deleted: true`) and those typed `void`; an event's `data.object` is so checked as the
type its event declares (`CustomerCreatedEvent.Data.object: Customer`). An event's `previous_attributes` is typed
`Partial<X>`, which is shallow, but Stripe sends only the changed keys of nested objects too: inside it no field is
required, at any depth; types, nulls and undeclared fields are checked as everywhere.

Every fault names the innermost Stripe object it lies in (`resource`, e.g. 'Invoice') and its JSON path inside it
(`path`, with `[]` for any list index), so the same fault seen in a response, a list and an event's `data.object`
is one fault. `where` is the full path in the response it was seen in.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, replace

from .stripe_types import (
    ArrayOf,
    Env,
    Field,
    Intersection,
    Lit,
    ObjectLiteral,
    Prim,
    Ref,
    Resolved,
    StripeTypes,
    Symbol,
    flatten,
    nullable,
    resolve,
    type_text,
)


@dataclass(frozen=True)
class Fault:
    resource: str
    path: str
    kind: str
    detail: str
    where: str = ''

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.resource, self.path, self.kind)

    def __str__(self) -> str:
        return f'{self.resource} {self.path or "(root)"}: {self.kind}: {self.detail}'


class ByObject:
    """A placeholder type: whatever the value's own `object` field names (the items of a top-level list)."""


_BY_OBJECT = ByObject()


@dataclass(frozen=True)
class _Loc:
    resource: str
    path: str  # inside the resource
    where: str  # inside the response
    partial: bool = False  # inside an event's previous_attributes

    def child(self, name: str) -> _Loc:
        return _Loc(self.resource, _join(self.path, name), _join(self.where, name), self.partial)

    def item(self, index: int) -> _Loc:
        return _Loc(self.resource, f'{self.path}[]', f'{self.where}[{index}]', self.partial)


def _join(path: str, name: str) -> str:
    return f'{path}.{name}' if path else name


def _json_kind(value) -> str:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int | float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    return 'object'


class Checker:
    def __init__(self, types: StripeTypes) -> None:
        self.types = types
        self.seen: Counter[str] = Counter()  # the Stripe objects checked, by type: what a run covered
        self._field_alternatives: dict[int, list[tuple]] = {}
        self._events = types.module(types.resources / 'Events.d.ts')
        self._lib = types.module(types.package / 'esm' / 'lib.d.ts')

    # entry points
    def check(self, value, where: str = '') -> list[Fault]:
        """Check an object (or a list of them) against the type its own `object` field names."""
        faults: list[Fault] = []
        self._value(value, [(_BY_OBJECT, None)], _Loc('(response)', '', where), faults)
        return faults

    def check_as(self, value, module: str, name: str, where: str = '') -> list[Fault]:
        """Check against a named type, e.g. check_as(body, 'Customers', 'Customer')."""
        symbol = self.types.symbol(module, name)
        faults: list[Fault] = []
        env = Env(symbol.scope)
        self._value(value, [(Ref(tuple(name.split('.'))), env)], _Loc(name, '', where), faults)
        return faults

    # the walk
    def _alternatives(self, node, env: Env | None) -> list[tuple]:
        if isinstance(node, ByObject):
            return [(node, env)]
        return flatten(self.types, node, env)

    def _value(self, value, alternatives: list[tuple], loc: _Loc, faults: list[Fault]) -> None:
        kind = _json_kind(value)
        literals, objects, arrays, unresolved = [], [], [], []
        for node, env in alternatives:
            match node:
                case ByObject():
                    objects.append((node, env))
                case Prim(name) if name in ('any', 'unknown'):
                    return
                case Prim(name):
                    if (name, kind) in {('string', 'string'), ('number', 'number'), ('boolean', 'boolean')}:
                        return
                    if (name, kind) in {('null', 'null'), ('object', 'object')}:
                        return
                case Lit(literal):
                    literals.append(literal)
                case ArrayOf(item):
                    arrays.append((item, env))
                case ObjectLiteral():
                    objects.append((node, env))
                case Ref():
                    resolved = resolve(self.types, node, env)
                    if resolved.kind == 'string' and kind == 'string':
                        return
                    if resolved.kind == 'array':
                        arrays.append(resolved.item)
                    elif resolved.kind in ('interface', 'partial', 'record'):
                        objects.append((resolved, env))
                    elif resolved.kind == 'unresolved':
                        unresolved.append(resolved.name)
                case Intersection():
                    objects.append((node, env))
        if kind in ('string', 'number', 'boolean'):
            same_kind = [lit for lit in literals if _json_kind(lit) == kind]
            if value in same_kind:
                return
            if same_kind:
                shown = ', '.join(repr(lit) for lit in same_kind)
                faults.append(Fault(loc.resource, loc.path, 'enum', f'{value!r} is not one of {shown}', loc.where))
                return
            if kind == 'string' and any(node == Prim('otherstring') for node, _ in alternatives):
                return
        elif kind == 'array' and arrays:
            item_alternatives = [alt for item in arrays for alt in self._alternatives(*item)]
            for index, item in enumerate(value):
                self._value(item, item_alternatives, loc.item(index), faults)
            return
        elif kind == 'object' and objects:
            self._object(value, objects, loc, faults)
            return
        if unresolved:  # a name the extractor could not follow: its fault, said so rather than passed
            faults.append(Fault(loc.resource, loc.path, 'unresolved', f'cannot resolve {unresolved}', loc.where))
            return
        declared = self._declared(alternatives)
        detail = f'null, but the type is {declared}' if kind == 'null' else f'a JSON {kind}, but the type is {declared}'
        faults.append(Fault(loc.resource, loc.path, 'null' if kind == 'null' else 'type', detail, loc.where))

    def _declared(self, alternatives: list[tuple]) -> str:
        return ' | '.join(
            'the type its `object` names' if isinstance(node, ByObject) else type_text(node) for node, _ in alternatives
        )

    def _object(self, value: dict, objects: list[tuple], loc: _Loc, faults: list[Fault]) -> None:
        shapes: list[_Shape] = []
        for node, env in objects:
            if isinstance(node, ByObject):
                shapes.extend(self._by_object(value, loc, faults))
            else:
                shapes.extend(self._shapes_of(node, env))
        if not shapes:
            return
        if len(shapes) > 1:
            consistent = [shape for shape in shapes if self._discriminated(value, shape)]
            if not consistent and len(shapes) > 8:  # the 250 events, say: naming them all would help nobody
                names = ', '.join(shape.label for shape in shapes[:4])
                detail = f'matches none of {len(shapes)} variants ({names}, ...)'
                if isinstance(value.get('type'), str):
                    detail = f'no variant has type {value["type"]!r}: {detail}'
                labels = {shape.label for shape in shapes}  # 'Event' for every event variant
                resource, path = (labels.pop(), '') if len(labels) == 1 else (loc.resource, loc.path)
                faults.append(Fault(resource, path, 'variant', detail, loc.where))
                data = value.get('data')
                if value.get('object') == 'event' and isinstance(data, dict) and isinstance(data.get('object'), dict):
                    # an event type stripe-node does not know: its object is still checked, by its own type
                    self._value(data['object'], [(_BY_OBJECT, None)], loc.child('data').child('object'), faults)
                return
            shapes = consistent or shapes
        best = None
        for shape in shapes:  # several left (or none fit): the variant with the fewest faults
            found: list[Fault] = []
            self._fields(value, shape, loc, found)
            if not found:
                return
            if best is None or len(found) < len(best):
                best = found
        faults.extend(best)

    def _by_object(self, value: dict, loc: _Loc, faults: list[Fault]) -> list[_Shape]:
        name = value.get('object')
        if name == 'list':
            api_list = self.types.symbol_in(self._lib.path, 'ApiList')
            return [self._shape(api_list, (('T', (_BY_OBJECT, None)),))]
        if name == 'event':
            return self._shapes_of(Ref(('Event',)), Env(self._events.scope))
        symbols = self.types.by_object(name) if isinstance(name, str) else []
        if not symbols:
            detail = f'no Stripe type has object {name!r}'
            faults.append(Fault(loc.resource, loc.path, 'type', detail, loc.where))
        return [self._shape(symbol, ()) for symbol in symbols]

    def _shapes_of(self, node, env: Env) -> list[_Shape]:
        """The object types a node stands for (several for a union), as shapes."""
        key = ('shapes', node, env)
        if key not in self.types.memo:
            self.types.memo[key] = self._new_shapes(node, env)
        return self.types.memo[key]

    def _new_shapes(self, node, env: Env) -> list[_Shape]:
        if isinstance(node, ObjectLiteral):
            fields = {m.name: Field(m.name, m.optional, nullable(self.types, m.type, env), m.type, env)
                      for m in node.members}  # fmt: skip
            return [_Shape('{...}', fields, (node.index, env) if node.index else None)]
        if isinstance(node, Intersection):
            shapes = [shape for item in node.items for shape in self._shapes_of(item, env)]
            fields, index = {}, None
            for shape in shapes:
                fields.update(shape.fields)
                index = shape.index or index
            return [_Shape(' & '.join(shape.label for shape in shapes), fields, index)]
        if not isinstance(node, Resolved):
            shapes = []
            for alternative, alternative_env in flatten(self.types, node, env):
                if isinstance(alternative, Ref):
                    alternative = resolve(self.types, alternative, alternative_env)
                if isinstance(alternative, Resolved | ObjectLiteral | Intersection):
                    shapes.extend(self._shapes_of(alternative, alternative_env))
            return shapes
        if node.kind == 'interface':
            return [self._shape(node.symbol, node.env.bindings)]
        if node.kind == 'record':
            return [_Shape('Record', {}, node.item)]
        if node.kind == 'partial':  # an event's previous_attributes
            return [replace(shape, partial=True) for shape in self._shapes_of(*node.item)]
        return []

    def _shape(self, symbol: Symbol, bindings: tuple) -> _Shape:
        fields, index = self.types.shape(symbol, bindings)
        object_field = fields.get('object')
        resource = object_field is not None and isinstance(object_field.type, Lit)
        resource = resource and object_field.type.value not in ('list', 'search_result')
        label = self.types.display_name(symbol)
        if resource and object_field.type.value == 'event':
            label = 'Event'  # not CustomerCreatedEvent: stripe-node's variants are one object for Stripe
        return _Shape(label, fields, index, resource=resource)

    def _discriminated(self, value: dict, shape: _Shape) -> bool:
        """Whether the value's literal-typed fields (object, type, deleted) and `void` fields fit this variant."""
        for name, literal, optional in shape.literals:
            if name in value:
                if value[name] != literal:
                    return False
            elif not (optional or shape.partial):
                return False
        return not any(name in value for name in shape.voids)

    def _fields(self, value: dict, shape: _Shape, loc: _Loc, faults: list[Fault]) -> None:
        if shape.resource:
            loc = _Loc(shape.label, '', loc.where, loc.partial)
            self.seen[shape.label] += 1
        if shape.partial:
            loc = replace(loc, partial=True)
        for name, field in shape.fields.items():
            if name not in value:
                if not (field.optional or loc.partial):
                    detail = f'required, the type is {type_text(field.type)}'
                    faults.append(Fault(loc.resource, _join(loc.path, name), 'missing', detail, _join(loc.where, name)))
                continue
            child = loc.child(name)
            item = value[name]
            alternatives = self._field_alternatives.get(id(field))
            if alternatives is None:  # the fields live as long as the types: their ids are theirs
                alternatives = self._field_alternatives[id(field)] = self._alternatives(field.type, field.env)
            if all(isinstance(node, Prim) and node.name in ('void', 'undefined') for node, _ in alternatives):
                faults.append(Fault(loc.resource, child.path, 'absent', 'typed void: must be absent', child.where))
                continue
            if item is None and not field.nullable:
                detail = f'null, but the type is {type_text(field.type)} (not nullable'
                detail += '; optional: absent or non-null)' if field.optional else ')'
                faults.append(Fault(loc.resource, child.path, 'null', detail, child.where))
                continue
            self._value(item, alternatives, child, faults)
        for name in value:
            if name in shape.fields or (shape.label == 'ApiList' and name == 'total_count'):
                # `ApiList<T>` (lib.d.ts) declares no `total_count`, but Stripe's embedded lists (a subscription's
                # `items`, an invoice's `lines`, expanded `refunds`) carry it on the wire, as its API reference
                # shows: the one place the emulator follows the wire and not the types.
                continue
            child = loc.child(name)
            if shape.index is not None:
                self._value(value[name], self._alternatives(*shape.index), replace(child, path=_join(loc.path, '*')),
                            faults)  # fmt: skip
            else:
                detail = f'{shape.label} declares no field {name!r}'
                faults.append(Fault(loc.resource, child.path, 'unknown', detail, child.where))


@dataclass(frozen=True)
class _Shape:
    """An object type as the checker sees it: its fields by name and its index signature, if any."""

    label: str  # 'Customer', 'Customer.InvoiceSettings', 'ApiList'
    fields: dict[str, Field]
    index: tuple | None  # (type, Env)
    resource: bool = False  # a Stripe object of its own (it has an `object` literal): faults are named after it
    partial: bool = False  # an event's previous_attributes: any field may be left out, at any depth
    literals: tuple = dataclasses.field(
        init=False, repr=False
    )  # (name, literal, optional): what tells union members apart
    voids: tuple = dataclasses.field(init=False, repr=False)  # the names typed void, which must be absent

    def __post_init__(self) -> None:
        literals = tuple((name, f.type.value, f.optional) for name, f in self.fields.items() if isinstance(f.type, Lit))
        voids = tuple(name for name, f in self.fields.items() if f.type in (Prim('void'), Prim('undefined')))
        object.__setattr__(self, 'literals', literals)
        object.__setattr__(self, 'voids', voids)
