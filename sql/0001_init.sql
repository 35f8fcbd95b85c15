-- Sessions, turns and provider usage. Plain SQL shared by Postgres and the embedded database (PGlite).
-- Every row has a key chosen by the server, so a batch replayed after an outage inserts nothing twice.

CREATE TABLE sessions (
  id              uuid PRIMARY KEY,
  user_id         text        NOT NULL,
  instance_id     text        NOT NULL,
  started_at      timestamptz NOT NULL,
  ended_at        timestamptz,
  end_reason      text,
  client_info     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  input_format    jsonb,
  output_format   jsonb
);

-- A user's sessions, newest first (GET /v1/sessions), and open sessions per instance (crash recovery).
CREATE INDEX sessions_user_started ON sessions (user_id, started_at DESC, id DESC);
CREATE INDEX sessions_open ON sessions (instance_id, started_at) WHERE ended_at IS NULL;

CREATE TABLE turns (
  session_id          uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  seq                 integer     NOT NULL,
  input_kind          text        NOT NULL CHECK (input_kind IN ('audio', 'text')),
  user_text           text        NOT NULL,
  assistant_text      text        NOT NULL,
  interrupted         boolean     NOT NULL DEFAULT false,
  error_code          text,
  stt_ms              double precision,
  enrichment_ms       double precision,
  llm_first_token_ms  double precision,
  tts_first_byte_ms   double precision,
  first_audio_ms      double precision,
  total_ms            double precision,
  started_at          timestamptz NOT NULL,
  ended_at            timestamptz NOT NULL,
  PRIMARY KEY (session_id, seq)
);

-- The last turns of a user across sessions (conversation memory).
CREATE INDEX turns_started ON turns (session_id, started_at DESC);

CREATE TABLE provider_usage (
  id               uuid PRIMARY KEY,
  session_id       uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  turn_seq         integer,
  provider         text        NOT NULL,
  kind             text        NOT NULL CHECK (kind IN ('stt', 'llm', 'tts', 'enrichment')),
  audio_seconds    double precision NOT NULL DEFAULT 0,
  input_tokens     integer     NOT NULL DEFAULT 0,
  output_tokens    integer     NOT NULL DEFAULT 0,
  characters       integer     NOT NULL DEFAULT 0,
  requests         integer     NOT NULL DEFAULT 0,
  errors           integer     NOT NULL DEFAULT 0,
  recorded_at      timestamptz NOT NULL
);

-- Quota and cost by provider over time.
CREATE INDEX provider_usage_provider_time ON provider_usage (provider, kind, recorded_at);
CREATE INDEX provider_usage_session ON provider_usage (session_id);
