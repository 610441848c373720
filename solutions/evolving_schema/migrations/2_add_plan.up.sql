-- Nullable first, so the rows already there can exist without a plan.
ALTER TABLE members ADD COLUMN plan text;

-- Backfill: every existing member gets the plan their email implies.
UPDATE members
SET plan = CASE WHEN email LIKE '%@campus.example' THEN 'campus' ELSE 'free' END;

-- Rows inserted by code that does not know about plans get 'free'.
ALTER TABLE members ALTER COLUMN plan SET DEFAULT 'free';

-- Every row has a plan now, so the constraint holds.
ALTER TABLE members ALTER COLUMN plan SET NOT NULL;
