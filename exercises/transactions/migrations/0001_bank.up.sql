-- A small bank. The schema is given: your work is in src/lib.rs.
--
-- There is deliberately no CHECK (balance >= 0) here. In a real bank you
-- would add one as the last line of defence; in this exercise the checks
-- want to see what your code does on its own, so nothing stops a balance
-- from going below zero except your locking.

CREATE TABLE accounts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Accounts with the same owner may cover each other (withdraw_covered).
    owner   text    NOT NULL,
    balance bigint  NOT NULL,
    -- Bumped by every write to the row, so an optimistic reader can tell
    -- that the row changed since it read it (withdraw).
    version integer NOT NULL DEFAULT 0
);

CREATE INDEX accounts_owner_idx ON accounts (owner);

-- The ledger: one row per transfer that happened.
CREATE TABLE transfers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_id    bigint      NOT NULL REFERENCES accounts (id),
    to_id      bigint      NOT NULL REFERENCES accounts (id),
    amount     bigint      NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
