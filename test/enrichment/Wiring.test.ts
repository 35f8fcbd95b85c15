// The wiring Providers.ts is to use for STREAM_ENRICHMENT=live: Layer.effect(Enricher, makeLiveEnricher(settings)
// through resilientEnricher) provided with LiveEnricherServices. It builds, serves, and releases cleanly: closing the
// layer interrupts a fetch still hanging upstream instead of waiting for it.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { PortPolicyDefaults } from "../../src/config/PortPolicy.ts"
import { LiveEnricherServices } from "../../src/enrichment/EnrichmentServices.ts"
import { makeLiveEnricher } from "../../src/enrichment/LiveEnricher.ts"
import { Enricher } from "../../src/pipeline/Enricher.ts"
import { resilientEnricher } from "../../src/pipeline/ResilientPorts.ts"
import { eventually, fakes, LogCapture, settingsFor } from "./support/Live.ts"

describe("live enricher layer", () => {
  it.live("builds with LiveEnricherServices, serves a turn, and closes without waiting for a hung fetch", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const settings = yield* settingsFor(f, { budgetMs: 1000, fetchTimeoutMs: 10_000 })
      const EnricherLive = Layer.effect(
        Enricher,
        Effect.flatMap(makeLiveEnricher(settings), (raw) => resilientEnricher(raw, PortPolicyDefaults.enrichment))
      ).pipe(Layer.provide(LiveEnricherServices), Layer.provide(new LogCapture().layer))

      const scope = yield* Scope.make()
      const services = yield* Layer.buildWithScope(EnricherLive, scope)
      const enricher = Context.get(services, Enricher)
      const answer = yield* Effect.orDie(enricher.enrich("bitcoin"))
      assert.deepStrictEqual(
        answer.prices.map((p) => p.symbol),
        ["BTC"]
      )

      f.coingecko.always({ kind: "hang" })
      yield* enricher.prime("and ether?")
      yield* eventually(() => f.coingecko.priceCalls === 2)
      // The fetch hangs for ever: closing returns only because it is interrupted.
      yield* Scope.close(scope, Exit.void)
    })
  )
})
