"""Coupons at a store's checkout (spec §7 "Coupons"); issuing them is the claims'.

- ``checkout``: `coupon check | use | release | show`, the cart a store sends, and how
  a typed code finds its coupon (by its keyed hash, in one statement).
- ``listing``: `coupon list`, `coupon export` (streamed) and the coupon figures of
  `stats overview`.
- ``orders``: what events do to coupons: `order.paid` records the uses it names, a
  full refund or a chargeback gives the order's coupons back.

Every change of a coupon's status is a conditional UPDATE (the database has the last
word under concurrency) and an audit event of the subject ``coupon:<claim id>``
(actions ``coupon.use``, ``coupon.release``, ``coupon.return``; details name the order,
the member and the masked code, never the code).
"""
