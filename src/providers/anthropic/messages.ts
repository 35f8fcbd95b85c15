// Shapes a conversation for the Messages API, which wants roles alternating and starting with "user": leading
// assistant turns are dropped, empty turns skipped, and consecutive turns of the same role merged into one.
import type { ChatMessage } from "../../pipeline/Llm.ts"

export const toAnthropicMessages = (
  messages: ReadonlyArray<ChatMessage>
): Array<{ role: "user" | "assistant"; content: string }> => {
  const out: Array<{ role: "user" | "assistant"; content: string }> = []
  for (const message of messages) {
    if (message.content.trim().length === 0) continue
    if (out.length === 0 && message.role !== "user") continue
    const last = out[out.length - 1]
    if (last !== undefined && last.role === message.role) last.content = `${last.content}\n\n${message.content}`
    else out.push({ role: message.role, content: message.content })
  }
  return out
}
