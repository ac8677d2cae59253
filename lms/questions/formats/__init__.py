"""Quiz file formats. Each reads text into lms.questions.model.Quiz and writes it back."""

from dataclasses import dataclass, field


@dataclass
class ExportResult:
    """A quiz written in some format, and one line for each thing it holds that the format cannot say."""

    text: str
    unexpressed: list[str] = field(default_factory=list)
