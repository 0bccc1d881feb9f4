"""Moderation stages, one per module; ``app.moderation.pipeline.default_stages`` orders them."""
