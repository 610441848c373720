-- A small shop: products with a stock count, and the orders placed for
-- them. The schema is given; this exercise is about the connections your
-- code uses to reach it, so there is nothing to change here.

CREATE TABLE products (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name  text NOT NULL,
    stock integer NOT NULL CHECK (stock >= 0)
);

CREATE TABLE orders (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id),
    quantity   integer NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_product_id_idx ON orders (product_id);
