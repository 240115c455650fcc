"""Discounts members hold (spec §7 "Discounts" and "`quote`"): their definitions
(`definitions`), grants by hand and their listings (`grants`), what store events do to
grants (`lifecycle`), `quote` (`quoting`) and `stats discounts` (`figures`)."""
