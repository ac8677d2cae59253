"""Quiz file formats. Each reads text into lms.questions.model.Quiz and writes it back."""
