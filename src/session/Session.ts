// The Session actor: one scoped fiber per connection that owns all of its work. Audio flows through the Stt port,
// turns start on endpointing, input.commit or input.text, and each reply runs in one replaceable fiber.
import { Cause, Clock, Deferred, Duration, Effect, Exit, FiberHandle, Queue, Stream } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { type AudioFormat, DefaultInputFormat, pcm16Format } from "../domain/Audio.ts"
import { CloseCode, type SessionEndReason } from "../domain/Errors.ts"
import { type ClientMessage, MaxTextInputLength, ProtocolName, type SessionStart } from "../domain/Protocol.ts"
import { countingAudio, countingErrors } from "../observability/SessionMetrics.ts"
import { SpanOptions } from "../observability/Spans.ts"
import { observeTurn } from "../observability/TurnTelemetry.ts"
import { SessionStore } from "../persistence/SessionStore.ts"
import { Enricher } from "../pipeline/Enricher.ts"
import { Llm } from "../pipeline/Llm.ts"
import { ReplyProgress, runReply } from "../pipeline/Reply.ts"
import { backoffDelay } from "../pipeline/Resilience.ts"
import { Stt, type SttAudio, SttError, type SttEvent, type SttInput, SttInputCapacity } from "../pipeline/Stt.ts"
import { Tts } from "../pipeline/Tts.ts"
import { makeConnectionLimits } from "../protection/ConnectionLimits.ts"
import { Limits } from "../protection/Limits.ts"
import { AudioGate, type AudioOutcome } from "./AudioGate.ts"
import { BadMessageWindow } from "./BadMessageWindow.ts"
import { Conversation } from "./Conversation.ts"
import { decodeClientText, type InboundProblem } from "./Inbound.ts"
import { makeOutbox } from "./Outbox.ts"
import type { Transport, TransportEnd } from "./Transport.ts"
import { Utterances } from "./Utterances.ts"

/** Frames queued for the reader fiber at which the socket stops being read, and where reading resumes. */
const ReadPauseAt = 64
const ReadResumeAt = 16

export interface SessionInfo {
  readonly sessionId: string
  readonly userId: string
}

/** The ways a session ends from the inside, with the close code the client sees. */
class SessionEnd {
  readonly reason: SessionEndReason
  readonly code: number
  readonly detail: string
  constructor(reason: SessionEndReason, code: number, detail: string) {
    this.reason = reason
    this.code = code
    this.detail = detail
  }
}

const closeCodeFor = (reason: SessionEndReason): number =>
  reason === "server_shutdown"
    ? CloseCode.serviceRestart
    : reason === "protocol_violation" || reason === "slow_consumer"
      ? CloseCode.policyViolation
      : reason === "frame_too_large"
        ? CloseCode.messageTooBig
        : reason === "internal_error"
          ? CloseCode.internalError
          : CloseCode.normal

/** The session itself; `runSession` runs it in its span. */
const sessionLoop = Effect.fnUntraced(function* (
  transport: Transport,
  info: SessionInfo,
  shutdown: Deferred.Deferred<void>
) {
  const config = yield* AppConfig
  const stt = yield* Stt
  const enricher = yield* Enricher
  const store = yield* SessionStore
  const llm = yield* Effect.service(Llm)
  const tts = yield* Effect.service(Tts)
  yield* Effect.annotateCurrentSpan({ "session.id": info.sessionId })
  const outbox = countingErrors(
    yield* makeOutbox(yield* countingAudio(transport), config.protection.maxOutboundBufferBytes)
  )
  const conversation = new Conversation(config.historyMaxTurns)
  const badMessages = new BadMessageWindow(config.badMessageLimit, config.badMessageWindowMs)
  const { protection } = config
  const limits = yield* Limits
  const connectionLimits = yield* makeConnectionLimits(protection)
  // Audio is checked and handed to the STT where it arrives (decision 30).
  const audio = new AudioGate(connectionLimits, protection.audioAheadMs)
  const replyHandle = yield* FiberHandle.make<void>()
  const sttTimer = yield* FiberHandle.make<void>()

  let formats: { readonly input: AudioFormat; readonly output: AudioFormat } | undefined
  let sttAudio: SttAudio | undefined
  let lastTurn = 0
  const utterances = new Utterances(() => ++lastTurn)
  let currentReply: ReplyProgress | undefined

  const debug = (message: string, fields: Record<string, unknown>) =>
    config.debug ? Effect.logDebug(message, fields) : Effect.void

  // ---- replies ----

  const cancelReply = (reason: ReplyProgress["cancelReason"]) =>
    Effect.suspend(() => {
      if (currentReply === undefined) return Effect.void
      currentReply.cancelReason = reason
      return FiberHandle.clear(replyHandle)
    })

  /** What the user's side of a turn was: speech (with its length) or typed text. */
  type TurnInput =
    | { readonly kind: "audio"; readonly audioMs: number; readonly sttMs: number }
    | { readonly kind: "text" }

  /** Records a finished turn (done, failed or cancelled) and what each provider was used for. */
  const recordTurn = (
    turn: number,
    userText: string,
    input: TurnInput,
    startedAt: number,
    progress: ReplyProgress,
    exit: Exit.Exit<unknown, unknown>
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const interrupted = Exit.hasInterrupts(exit)
      const errorCode = progress.errorCode ?? (Exit.isFailure(exit) && !interrupted ? "internal_error" : null)
      yield* store.record({
        _tag: "TurnCompleted",
        sessionId: info.sessionId,
        seq: turn,
        inputKind: input.kind,
        userText,
        assistantText: progress.textSent,
        interrupted,
        errorCode,
        sttMs: input.kind === "audio" ? input.sttMs : null,
        enrichmentMs: progress.enrichmentMs,
        llmFirstTokenMs: progress.llmFirstTokenMs,
        ttsFirstByteMs: progress.ttsFirstByteMs,
        firstAudioMs: progress.firstAudioMs,
        totalMs: progress.totalMs,
        startedAt,
        endedAt: now
      })
      const usage = (
        kind: "stt" | "llm" | "tts" | "enrichment",
        provider: string,
        amounts: Partial<{
          audioSeconds: number
          inputTokens: number
          outputTokens: number
          characters: number
          requests: number
        }>,
        failed: boolean
      ) =>
        store.record({
          _tag: "UsageRecorded",
          id: crypto.randomUUID(),
          sessionId: info.sessionId,
          turnSeq: turn,
          provider,
          kind,
          audioSeconds: amounts.audioSeconds ?? 0,
          inputTokens: amounts.inputTokens ?? 0,
          outputTokens: amounts.outputTokens ?? 0,
          characters: amounts.characters ?? 0,
          requests: amounts.requests ?? 0,
          errors: failed ? 1 : 0,
          recordedAt: now
        })
      if (input.kind === "audio") yield* usage("stt", stt.provider, { audioSeconds: input.audioMs / 1000 }, false)
      yield* usage("enrichment", enricher.provider, { requests: 1 }, false)
      if (progress.llmDeltas > 0 || progress.errorCode?.startsWith("llm") === true) {
        yield* usage(
          "llm",
          progress.llmProvider ?? llm.provider,
          {
            inputTokens: progress.llmInputTokens,
            outputTokens: progress.llmOutputTokens > 0 ? progress.llmOutputTokens : progress.llmDeltas,
            requests: 1
          },
          progress.errorCode?.startsWith("llm") === true
        )
      }
      if (progress.ttsRequests > 0) {
        yield* usage(
          "tts",
          tts.provider,
          { characters: progress.ttsCharacters, requests: progress.ttsRequests },
          progress.errorCode?.startsWith("tts") === true
        )
      }
    })

  const startReply = (turn: number, userText: string, startedAt: number, input: TurnInput) =>
    Effect.gen(function* () {
      yield* cancelReply("new_turn")
      const history = conversation.snapshot()
      conversation.addUser(userText)
      const progress = new ReplyProgress()
      currentReply = progress
      const reply = runReply(
        {
          turn,
          userText,
          history,
          systemPrompt: config.systemPrompt,
          outputFormat: formats!.output,
          enrichmentBudgetMs: config.enrichment.budgetMs,
          startedAt,
          sttMs: input.kind === "audio" ? input.sttMs : null
        },
        outbox,
        progress
      ).pipe(
        Effect.onExit((exit) =>
          Effect.gen(function* () {
            conversation.addAssistant(progress.textSent)
            if (currentReply === progress) currentReply = undefined
            yield* recordTurn(turn, userText, input, startedAt, progress, exit)
            if (Exit.hasInterrupts(exit)) {
              yield* outbox.discardAudio(turn)
              yield* outbox.event({
                type: "response.cancelled",
                turn,
                reason: progress.cancelReason,
                textSent: progress.textSent
              })
            } else if (Exit.isFailure(exit)) {
              yield* Effect.logError("reply failed unexpectedly", exit.cause)
              yield* outbox.event({
                type: "error",
                code: "internal_error",
                message: "The reply failed unexpectedly",
                recoverable: true,
                turn
              })
            }
          })
        ),
        observeTurn(
          {
            sessionId: info.sessionId,
            turn,
            input: input.kind,
            startedAt,
            sttMs: input.kind === "audio" ? input.sttMs : null,
            sttProvider: stt.provider
          },
          progress
        ),
        Effect.exit,
        Effect.asVoid,
        Effect.annotateLogs({ turn })
      )
      yield* FiberHandle.run(replyHandle, reply)
    })

  // ---- speech ----

  /** One timer, for the oldest utterance waiting for its final, measured from its end of speech. */
  const armSttTimer = Effect.gen(function* () {
    const oldest = utterances.oldestAwaiting
    if (oldest === undefined) return yield* FiberHandle.clear(sttTimer)
    const waited = (yield* Clock.currentTimeMillis) - oldest.endedAt
    yield* FiberHandle.run(
      sttTimer,
      Effect.sleep(Math.max(0, config.policies.stt.firstChunkTimeoutMs - waited)).pipe(Effect.andThen(onSttTimeout))
    )
  })

  const onSttTimeout: Effect.Effect<void> = Effect.suspend(() => {
    const turn = utterances.timedOut()
    return outbox
      .event({
        type: "error",
        code: "stt_timeout",
        message: `No final transcript within ${config.policies.stt.firstChunkTimeoutMs} ms of the end of speech`,
        recoverable: true,
        ...(turn === undefined ? {} : { turn })
      })
      .pipe(Effect.andThen(Effect.forkDetach(armSttTimer)), Effect.asVoid)
  })

  const markSpeechEnded = Effect.gen(function* () {
    if (utterances.speechEnded(yield* Clock.currentTimeMillis)) yield* armSttTimer
  })

  const onSttEvent = (event: SttEvent) =>
    Effect.gen(function* () {
      switch (event._tag) {
        case "SpeechStarted":
          utterances.speechStarted()
          return
        case "Partial": {
          yield* outbox.event({ type: "transcript.partial", turn: utterances.partial(), text: event.text })
          yield* enricher.prime(event.text)
          return
        }
        case "SpeechEnded":
          return yield* markSpeechEnded
        case "Final": {
          const now = yield* Clock.currentTimeMillis
          const heard = utterances.final()
          yield* armSttTimer
          const text = event.text.trim()
          if (text.length === 0) {
            return yield* outbox.event({
              type: "error",
              code: "no_speech",
              message: "No speech was recognised in that audio",
              recoverable: true,
              ...(heard.turn === undefined ? {} : { turn: heard.turn })
            })
          }
          if (!(yield* turnAllowed(heard.turn))) return
          const turn = heard.turn ?? ++lastTurn
          yield* outbox.event({ type: "transcript.final", turn, text })
          // A provider that dates the end of speech itself (its endpointing ran before it said so) is believed first.
          const endedAt = Math.min(event.speechEndedAt ?? now, heard.endedAt ?? now)
          return yield* startReply(turn, text, endedAt, { kind: "audio", audioMs: event.audioMs, sttMs: now - endedAt })
        }
      }
    })

  /** The utterance in progress is lost with the STT stream that failed; the client hears which turn it was. */
  const reportSttFailure = (error: SttError, restartInMs: number) =>
    Effect.gen(function* () {
      // Every utterance in progress is lost; each of their turns gets its ending error (one per turn).
      const turns = utterances.abandonAll()
      yield* FiberHandle.clear(sttTimer)
      yield* Effect.logWarning("speech recognition failed", { reason: error.reason, retryable: error.retryable })
      const message = `Speech recognition failed (${error.message}); it restarts in ${Math.round(restartInMs)} ms, and audio sent meanwhile may be lost`
      const code = error.reason === "timeout" ? "stt_timeout" : "stt_failed"
      if (turns.length === 0) return yield* outbox.event({ type: "error", code, message, recoverable: true })
      for (const turn of turns) yield* outbox.event({ type: "error", code, message, recoverable: true, turn })
    })

  /**
   * Runs the STT over the session's audio for as long as the session lives. After a failure it reports it and
   * restarts after a backoff that grows with consecutive failures and starts over once the STT produces again.
   */
  const runStt = (input: SttAudio, format: AudioFormat) => {
    let failures = 0
    const once = Stream.runForEach(stt.transcribe(input, format), (event) => {
      failures = 0
      return onSttEvent(event)
    }).pipe(
      // The input never ends while the session lives, so an STT stream that ends has failed too; so has one that
      // crashed. Either way the session keeps speech recognition by restarting it.
      Effect.andThen(
        Effect.suspend(() =>
          Effect.fail(new SttError({ reason: "protocol", retryable: true, message: "the recognition stream ended" }))
        )
      ),
      Effect.catchDefect((defect) =>
        Effect.logError("speech recognition crashed", defect).pipe(
          Effect.andThen(Effect.fail(new SttError({ reason: "unknown", retryable: true, message: "internal error" })))
        )
      )
    )
    const supervised: Effect.Effect<void, never, Llm | Tts | Enricher> = once.pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          failures++
          const delay = yield* backoffDelay(config.policies.stt, failures)
          yield* reportSttFailure(error, Duration.toMillis(delay))
          yield* Effect.sleep(delay)
          return yield* supervised
        })
      )
    )
    return supervised
  }

  // ---- client messages ----

  const reject = (problem: InboundProblem, retryAfterMs?: number) =>
    Effect.gen(function* () {
      const flooding = badMessages.hit(yield* Clock.currentTimeMillis)
      yield* outbox.event({
        type: "error",
        code: problem.code,
        message: problem.message,
        recoverable: !flooding,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs })
      })
      if (flooding) {
        return yield* Effect.fail(
          new SessionEnd(
            "protocol_violation",
            CloseCode.policyViolation,
            `more than ${config.badMessageLimit} bad messages in ${config.badMessageWindowMs} ms`
          )
        )
      }
    })

  const negotiate = (start: SessionStart) => ({
    input: pcm16Format(start.input?.sampleRate ?? DefaultInputFormat.sampleRate),
    output: pcm16Format(start.output?.sampleRate ?? config.defaultOutputSampleRate)
  })

  const onStart = (start: SessionStart) =>
    Effect.gen(function* () {
      if (formats !== undefined) {
        return yield* reject({ code: "session_already_started", message: "session.start may be sent only once" })
      }
      formats = negotiate(start)
      yield* store.record({
        _tag: "SessionStarted",
        sessionId: info.sessionId,
        userId: info.userId,
        instanceId: config.store.instanceId,
        startedAt: yield* Clock.currentTimeMillis,
        clientInfo: start.client ?? {},
        inputFormat: formats.input,
        outputFormat: formats.output
      })
      if (config.store.historyTurns > 0) {
        conversation.seed(yield* store.recentTurns(info.userId, config.store.historyTurns))
      }
      const buffer = yield* Queue.bounded<SttInput, Cause.Done>(SttInputCapacity)
      sttAudio = audio.open(buffer, formats.input)
      yield* Effect.forkScoped(runStt(sttAudio, formats.input))
      yield* Effect.logInfo("session started", {
        input: formats.input.sampleRate,
        output: formats.output.sampleRate,
        client: start.client ?? {}
      })
      yield* outbox.event({
        type: "session.started",
        sessionId: info.sessionId,
        protocol: ProtocolName,
        input: formats.input,
        output: formats.output,
        limits: { maxFrameBytes: config.maxFrameBytes, maxTextLength: MaxTextInputLength }
      })
    })

  /** Counts a turn against the user's limit; when refused, tells the client (with `turn` if it has seen it). */
  const turnAllowed = (turn: number | undefined) =>
    Effect.gen(function* () {
      const verdict = yield* limits.check("turn", info.userId, protection.turnsPerUser)
      if (verdict.allowed) return true
      yield* outbox.event({
        type: "error",
        code: "rate_limited",
        message: `More than ${protection.turnsPerUser.max} turns in ${protection.turnsPerUser.windowMs} ms; this one is not answered`,
        recoverable: true,
        retryAfterMs: verdict.retryAfterMs,
        ...(turn === undefined ? {} : { turn })
      })
      return false
    })

  const onMessage = (message: ClientMessage) =>
    Effect.gen(function* () {
      if (message.type === "ping")
        return yield* outbox.event({ type: "pong", ...(message.id === undefined ? {} : { id: message.id }) })
      if (message.type === "session.start") return yield* onStart(message)
      if (formats === undefined || sttAudio === undefined) {
        return yield* reject({ code: "session_not_started", message: `Send session.start before ${message.type}` })
      }
      switch (message.type) {
        case "input.commit": {
          // Only an utterance in progress waits for its final; a commit after an endpointed one adds nothing.
          if (utterances.hearing) yield* markSpeechEnded
          return yield* onAudioOutcome(audio.commit())
        }
        case "input.text": {
          if (!(yield* turnAllowed(undefined))) return
          const now = yield* Clock.currentTimeMillis
          return yield* startReply(++lastTurn, message.text, now, { kind: "text" })
        }
        case "response.cancel":
          return yield* cancelReply("client_cancel")
      }
    })

  const onText = (text: string) =>
    Effect.gen(function* () {
      yield* debug("control frame", { bytes: text.length })
      const verdict = connectionLimits.message()
      if (!verdict.allowed) {
        const { max, windowMs } = protection.messagesPerConnection
        return yield* reject(
          { code: "rate_limited", message: `More than ${max} messages in ${windowMs} ms; this one was ignored` },
          verdict.retryAfterMs
        )
      }
      const decoded = decodeClientText(text)
      return yield* decoded._tag === "Success" ? onMessage(decoded.success) : reject(decoded.failure)
    })

  /** What an audio frame or a commit needs the reader for (AudioGate.ts). */
  const onAudioOutcome = (outcome: AudioOutcome | undefined) =>
    outcome === undefined
      ? Effect.void
      : outcome._tag === "Reject"
        ? reject(outcome.problem)
        : outbox.event(outcome.event)

  // ---- client frames ----

  /**
   * The reader fiber's queue, in arrival order: control messages, audio outcomes to report, and audio frames that
   * arrived while something was still queued (so audio never overtakes the session.start or input.commit before it).
   */
  type Queued = string | Uint8Array | AudioOutcome
  const queued = yield* Queue.unbounded<Queued, TransportEnd>()
  let waiting = 0
  let paused = false
  const enqueue = (item: Queued) => {
    waiting++
    Queue.offerUnsafe(queued, item)
    if (waiting >= ReadPauseAt && !paused) {
      paused = true
      transport.pause()
    }
  }
  const handled = Effect.sync(() => {
    waiting--
    if (paused && waiting <= ReadResumeAt) {
      paused = false
      transport.resume()
    }
  })
  const onQueued = (item: Queued) =>
    (typeof item === "string"
      ? onText(item)
      : item instanceof Uint8Array
        ? onAudioOutcome(audio.audio(item))
        : onAudioOutcome(item)
    ).pipe(Effect.ensuring(handled))

  const clock = yield* Clock.Clock
  let lastActivity = clock.currentTimeMillisUnsafe()
  yield* transport.listen({
    frame: (frame) => {
      lastActivity = clock.currentTimeMillisUnsafe()
      if (typeof frame === "string" || waiting > 0) return enqueue(frame)
      const outcome = audio.audio(frame)
      if (outcome !== undefined) enqueue(outcome)
    },
    end: (end) => {
      Queue.failCauseUnsafe(queued, Cause.fail(end))
    }
  })

  // ---- lifetime ----

  const readClient = Stream.runForEach(Stream.fromQueue(queued), onQueued).pipe(
    Effect.as(new SessionEnd("client_closed", CloseCode.normal, "the client closed the connection")),
    Effect.catch((end) =>
      Effect.succeed(
        end instanceof SessionEnd
          ? end
          : end._tag === "FrameTooLarge"
            ? new SessionEnd(
                "frame_too_large",
                CloseCode.messageTooBig,
                `a frame exceeded ${config.maxFrameBytes} bytes`
              )
            : new SessionEnd(
                "client_closed",
                CloseCode.normal,
                end._tag === "Broken" ? end.detail : `closed ${end.code}`
              )
      )
    )
  )

  const awaitShutdown = Deferred.await(shutdown).pipe(
    // Let the reply in progress finish, within the grace period.
    Effect.andThen(FiberHandle.awaitEmpty(replyHandle).pipe(Effect.timeoutOption(config.shutdownGraceMs))),
    Effect.as(new SessionEnd("server_shutdown", CloseCode.serviceRestart, "the server is shutting down"))
  )

  /** Ends the session once nothing (audio or message) has arrived for STREAM_IDLE_TIMEOUT_MS. */
  const idle: Effect.Effect<SessionEnd> =
    protection.idleTimeoutMs <= 0
      ? Effect.never
      : Effect.gen(function* () {
          while (true) {
            const quietFor = (yield* Clock.currentTimeMillis) - lastActivity
            if (quietFor >= protection.idleTimeoutMs) {
              return new SessionEnd("idle_timeout", CloseCode.normal, `no audio or message for ${quietFor} ms`)
            }
            yield* Effect.sleep(protection.idleTimeoutMs - quietFor)
          }
        })

  const slowConsumer = outbox.overflowed.pipe(
    Effect.as(
      new SessionEnd(
        "slow_consumer",
        CloseCode.policyViolation,
        `the client is not reading: over ${protection.maxOutboundBufferBytes} bytes waiting to be sent`
      )
    )
  )

  const end = yield* Effect.raceAllFirst([readClient, awaitShutdown, idle, slowConsumer]).pipe(
    Effect.catchCause((cause) =>
      Effect.as(
        Effect.logError("session failed", cause),
        new SessionEnd("internal_error", CloseCode.internalError, "internal error")
      )
    )
  )
  yield* cancelReply("session_end")
  const peerGone = end.reason === "client_closed" || end.reason === "frame_too_large"
  if (!peerGone) {
    yield* outbox.event({ type: "session.ended", reason: end.reason })
    yield* outbox.close(closeCodeFor(end.reason), end.detail)
  }
  if (formats !== undefined) {
    yield* store.record({
      _tag: "SessionEnded",
      sessionId: info.sessionId,
      endedAt: yield* Clock.currentTimeMillis,
      reason: end.reason
    })
  }
  yield* Effect.annotateCurrentSpan({ "session.end_reason": end.reason, "session.turns": lastTurn })
  yield* Effect.logInfo("session ended", { reason: end.reason, turns: lastTurn })
  return end.reason
})

/**
 * Runs one session until the client leaves, breaks the protocol, or `shutdown` completes; returns why it ended.
 * Everything it starts lives in the caller's Scope, so closing that scope stops it all. It runs in the span "session",
 * opened without a captured stack trace (`SpanOptions`), where Effect.fn captured one per session.
 */
export const runSession = (transport: Transport, info: SessionInfo, shutdown: Deferred.Deferred<void>) =>
  Effect.withSpan(sessionLoop(transport, info, shutdown), "session", SpanOptions)
