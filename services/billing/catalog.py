"""The plan catalog in Stripe: one Product per plan and a Price per interval and add-on, found by lookup_key."""

from dataclasses import dataclass

from services.billing.gateway import StripeGateway
from services.errors import ValidationFailed
from services.plans import Catalog, Interval, Plan, format_money


@dataclass(frozen=True, kw_only=True)
class CatalogSync:
    catalog: Catalog
    gateway: StripeGateway

    async def sync(self) -> list[str]:
        """Create or update every plan's Product and Prices, found by lookup_key; a second run changes nothing."""
        changes: list[str] = []
        for plan in self.catalog.plans:
            changes += await self._sync_product(plan)
            wanted = [(plan.lookup_key(interval), amount, interval) for interval, amount in plan.prices.items()]
            wanted += [(plan.add_on_lookup_key(add_on), add_on.price, None) for add_on in plan.add_ons]
            for lookup_key, amount, interval in wanted:
                changes += await self._sync_price(plan, lookup_key, amount, interval)
        return changes

    async def price_id(self, lookup_key: str) -> str:
        """The active price of a lookup key, asked of Stripe each time: stripe-sync may have replaced it."""
        found = await self.gateway.call('prices', 'list', lookup_keys=[lookup_key], active=True, limit=1)
        if not found['data']:
            raise ValidationFailed(
                {'plan': f'The price {lookup_key} is not in Stripe yet. Run `python main.py stripe-sync`.'}
            )
        return found['data'][0]['id']

    async def _sync_product(self, plan: Plan) -> list[str]:
        fields = {'name': plan.name, 'description': plan.description, 'metadata': {'portico_plan': plan.id}}
        found = await self.gateway.call('products', 'list', ids=[plan.product_id], limit=1)
        if not found['data']:
            await self.gateway.call(
                'products', 'create', id=plan.product_id, key=f'portico-product-{plan.id}', **fields
            )
            return [f'created product {plan.product_id}']
        product = found['data'][0]
        if (product['name'], product.get('description'), product.get('active')) != (plan.name, plan.description, True):
            await self.gateway.call('products', 'update', plan.product_id, active=True, **fields)
            return [f'updated product {plan.product_id}']
        return []

    async def _sync_price(self, plan: Plan, lookup_key: str, amount: int, interval: Interval | None) -> list[str]:
        found = await self.gateway.call('prices', 'list', lookup_keys=[lookup_key], limit=1)
        current = found['data'][0] if found['data'] else None
        if current and current['active'] and current['unit_amount'] == amount and current['currency'] == plan.currency \
                and _recurring(current) == (interval.recurring if interval else None):  # fmt: skip
            return []
        params = {
            'product': plan.product_id,
            'currency': plan.currency,
            'unit_amount': amount,
            'lookup_key': lookup_key,
            'transfer_lookup_key': True,
            'metadata': {'portico_plan': plan.id},
        }
        if interval:
            params['recurring'] = interval.recurring
        # The key names the amount and the price it replaces: a retry reuses the new price, and changing an
        # amount back later makes a fresh price instead of replaying the archived one.
        replaced = current['id'] if current else 'none'
        key = f'portico-price-{lookup_key}-{plan.currency}-{amount}-after-{replaced}'
        created = await self.gateway.call('prices', 'create', key=key, **params)
        if current and current['id'] != created['id']:
            await self.gateway.call('prices', 'update', current['id'], active=False)
        return [f'{"replaced" if current else "created"} price {lookup_key} ({format_money(amount, plan.currency)})']


def _recurring(price: dict) -> dict | None:
    """A price's `recurring` as Interval.recurring spells it (Stripe adds fields and counts of 1)."""
    recurring = price.get('recurring')
    if not recurring:
        return None
    count = recurring.get('interval_count') or 1
    return {'interval': recurring['interval'], **({'interval_count': count} if count != 1 else {})}
