-- A club's members, the addresses they gave, and the orders they placed.
-- The tables and columns are given (the checks and src/lib.rs use these
-- names), except for the two TODOs in members: soft deletes are yours to
-- add.
--
-- Checks run in a fresh database every time, so edit this file freely.
-- (In a real project you would add a new migration instead: an applied
-- migration must never change.)

CREATE TABLE members (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Unique among live members only: see the partial index below. A
    -- plain UNIQUE would count deleted rows too.
    email      text NOT NULL,
    name       text NOT NULL,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    -- NULL while the member is live; when they were deleted, after.
    deleted_at timestamptz
);

-- Every address belongs to one member and goes with them when the row is
-- really deleted.
CREATE TABLE addresses (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    street    text NOT NULL,
    city      text NOT NULL
);
CREATE INDEX addresses_member_id_idx ON addresses (member_id);

-- Orders are kept for the accounts even when their member is gone, so the
-- link is SET NULL. ship_name and ship_address are copied from the member
-- when the order is placed: personal data that outlives the member's row.
CREATE TABLE orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id    bigint REFERENCES members (id) ON DELETE SET NULL,
    total_cents  bigint NOT NULL,
    placed_at    timestamptz NOT NULL DEFAULT now(),
    ship_name    text,
    ship_address text
);
CREATE INDEX orders_member_id_idx ON orders (member_id);

-- Only live members' rows are in this index, so only they must differ: a
-- deleted member's email is free to be registered again. (A UNIQUE over
-- (email, deleted_at) would not do it: NULLs never equal each other, so
-- any number of live members could share an email.)
CREATE UNIQUE INDEX members_email_live_key ON members (email) WHERE deleted_at IS NULL;
