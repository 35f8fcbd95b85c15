// The conversation history of one session, bounded to the last N turns; holds only what was actually sent.
import type { ChatMessage } from "../pipeline/Llm.ts"

export class Conversation {
  private readonly messages: Array<ChatMessage> = []
  private readonly maxTurns: number

  constructor(maxTurns: number) {
    this.maxTurns = maxTurns
  }

  addUser(content: string): void {
    this.push({ role: "user", content })
  }

  /** Records the reply as the client received it; an empty reply (cancelled before any text) adds nothing. */
  addAssistant(content: string): void {
    if (content.trim().length > 0) this.push({ role: "assistant", content })
  }

  /** Starts the history with messages from earlier sessions (conversation memory). */
  seed(messages: ReadonlyArray<ChatMessage>): void {
    for (const message of messages) {
      if (message.role === "user") this.addUser(message.content)
      else this.addAssistant(message.content)
    }
  }

  snapshot(): ReadonlyArray<ChatMessage> {
    return [...this.messages]
  }

  private push(message: ChatMessage) {
    this.messages.push(message)
    // A turn is a user message and its reply; keep 2·maxTurns messages at most, dropping the oldest.
    while (this.messages.length > this.maxTurns * 2) this.messages.shift()
  }
}
