"""One error type for input that is wrong in itself (not a simulated refusal)."""


class DomainError(ValueError):
    """A command that can never succeed as given: buying 500 credits, a Free
    workspace buying, an unknown plan. Its message is a sentence a user can read
    and names the rule id.
    """

    def __init__(self, message: str, rule: str | None = None) -> None:
        self.rule = rule
        super().__init__(f"{message} (rule {rule})" if rule else message)
