"""Live Advance Earn quotes over WebSocket, against the Bybit simulator on a loopback port."""

import asyncio
from decimal import Decimal

from asyncexch.bybit import BybitClient, LiveQuote, StakeOrder
from asyncexch.sim import BybitSimulator, SimServer


async def main() -> None:
    sim = BybitSimulator()
    sim.add_account("my-key", "my-secret")
    async with SimServer(sim.app) as server:  # ws://127.0.0.1:<port>/v5/public/fp
        async with BybitClient("my-key", "my-secret", base_url=server.url) as bybit:
            earn = bybit.advance_earn
            # listed first, so that quotes carry their product (from_quote checks the amount)
            product = (await earn.smart_leverage.products(coin="BTC"))[0]
            async with earn.stream():  # one connection for every category's quotes
                quotes = earn.smart_leverage.watch_quotes([product.product_id])
                async for item in quotes:
                    if isinstance(item, LiveQuote):
                        quote = item.quote  # a Quote, as earn.quote() gives
                        print("quote:", item.product_id, quote.breakeven_price, quote.expire_at)
                        order = StakeOrder.from_quote(quote, amount=Decimal("100"))
                        ack = await earn.place_order(order)
                        print("staked at the pushed quote:", ack.order_id)
                        sim.offer_stream.drop()  # the connection drops: it comes back
                    else:  # a QuoteGap: quotes may have been missed while reconnecting
                        print("gap:", item.reason, "- re-read REST quotes here")
                        break
                await quotes.aclose()


asyncio.run(main())
