// The trace sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) around a tracer: it decides for each new trace,
// and every span below a local parent shares that parent's decision, so a trace is kept or dropped whole.
import { Option, Tracer } from "effect"
import type { ObservabilitySettings } from "../config/ObservabilitySettings.ts"

export const withSampler = (tracer: Tracer.Tracer, sampler: ObservabilitySettings["sampler"]): Tracer.Tracer => {
  const root = sampler.name.replace(/^parentbased_/, "")
  const parentBased = root !== sampler.name
  const decide = () =>
    root === "always_on" ? true : root === "always_off" ? false : sampler.ratio >= 1 || Math.random() < sampler.ratio
  return Tracer.make({
    span(options) {
      const parent = Option.getOrUndefined(options.parent)
      // Below a span of ours: Effect already passed its decision down in `sampled`.
      if (parent?._tag === "Span") return tracer.span(options)
      // A new trace, or one continued from a caller's traceparent header (an external span).
      const keep = parentBased && parent !== undefined ? parent.sampled : decide()
      return tracer.span({ ...options, sampled: options.sampled && keep })
    },
    context: tracer.context
  })
}
