"""Human renderings of domain objects (Rich renderables and row dicts), one module per
noun, used through Output; `common` and `charts` hold what several nouns share."""
