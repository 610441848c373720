-- A club's members, the addresses they gave, and the orders they placed.
-- The tables and columns are given (the checks and src/lib.rs use these
-- names), except for the two TODOs in members: soft deletes are yours to
-- add.
--
-- Checks run in a fresh database every time, so edit this file freely.
-- (In a real project you would add a new migration instead: an applied
-- migration must never change.)

CREATE TABLE members (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- TODO: this UNIQUE is how a table without soft deletes keeps emails
    -- apart. Once deleted members stay in the table, it also keeps a
    -- deleted member's email from ever being used again. Take it off here,
    -- and add the index described at the end of this file.
    email     text NOT NULL UNIQUE,
    name      text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now()
    -- TODO: the column Sequelize's `paranoid: true` adds: when the member
    -- was deleted, NULL while they are not. (Mind the comma above.)
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

-- TODO: one unique index on members (email) that only holds the rows of
-- members who are not deleted (a partial index: CREATE UNIQUE INDEX ...
-- WHERE ...). Two live members can never share an email; a deleted
-- member's email can be registered again.
