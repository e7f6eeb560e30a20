"""The interactive explorer of notebook 07: an ipywidgets form in JupyterLab.

A text area for the passage, a field for the entity types, a choice of student (the
tuned adapter, the untuned base model, or any adapter folder typed in), a button; the
highlighted passage and the table of entities and offsets update in place below it. The
work is done by a *predictor*, ``predict(passage, types, model, adapter) -> DataFrame``
(the rows of :func:`unerlib.highlight.find_entities`); the default one loads each student
once (:class:`StudentPredictor`). Tests pass a stub.

The widgets are shown only in a live session: notebook 07 builds them when its
``interactive`` parameter is true or the kernel was started by a Jupyter server
(:func:`in_jupyter_server`); a papermill run (the report) shows the static output only.
"""

from __future__ import annotations

import html
import os
from typing import Any, Callable, Sequence

Predictor = Callable[[str, str, str, "str | None"], Any]

#: Label of the choice "an adapter folder typed in the field beside it".
OTHER_ADAPTER = "adapter folder…"


def in_jupyter_server() -> bool:
    """Whether this kernel was started by a Jupyter server (JupyterLab, Notebook): the server
    names the session in ``JPY_SESSION_NAME``; papermill and plain Python do not."""
    return bool(os.environ.get("JPY_SESSION_NAME"))


class StudentPredictor:
    """Finds entities with :func:`unerlib.highlight.find_entities`, loading each (model,
    adapter) once."""

    def __init__(self, max_new_tokens: int = 16, preloaded: dict[tuple[str, str | None], Any] | None = None):
        self.max_new_tokens = max_new_tokens
        self.students: dict[tuple[str, str | None], Any] = dict(preloaded or {})

    def __call__(self, passage: str, types: str, model: str, adapter: str | None):
        from .highlight import find_entities
        from .student import load_student

        key = (model, adapter or None)
        if key not in self.students:
            self.students[key] = load_student(model, adapter or None)
        return find_entities(self.students[key], passage, types, max_new_tokens=self.max_new_tokens)


def table_html(entities: Any) -> str:
    """The entities table as HTML (offsets as integers, a missing one left blank)."""
    import pandas as pd

    table = pd.DataFrame(entities).copy()
    for col in ("start", "end"):
        if col in table:
            table[col] = table[col].astype("Int64")
    if table.empty:
        return "<p><i>No entity found.</i></p>"
    return table.to_html(index=False, na_rep="", classes="uner-entities", border=0)


class Explorer:
    """The widgets and what the button does. ``widget`` is the box to display; ``text``,
    ``types``, ``choice``, ``adapter``, ``button`` the inputs; ``highlight``, ``table`` and
    ``status`` the outputs (``ipywidgets.HTML``); ``entities`` the last DataFrame found."""

    def __init__(self, predict: Predictor, passage: str = "", types: str = "", model: str = "smollm2-135m",
                 adapters: dict[str, str | None] | None = None):
        import ipywidgets as w

        self.predict = predict
        self.model = model
        self.adapters = dict(adapters or {"untuned": None})
        self.entities = None
        wide = w.Layout(width="100%")
        self.text = w.Textarea(value=passage, placeholder="A passage to tag", description="Passage",
                               layout=w.Layout(width="100%", height="7em"))
        self.types = w.Text(value=types, placeholder="person, location, date", description="Types", layout=wide)
        self.choice = w.Dropdown(options=[*self.adapters, OTHER_ADAPTER], description="Student")
        self.adapter = w.Text(value="", placeholder="artifacts/students/... (a LoRA adapter folder)",
                              description="Adapter", layout=w.Layout(width="60%"))
        self.button = w.Button(description="Find entities", button_style="primary", icon="search")
        self.status = w.HTML(value="")
        self.highlight = w.HTML(value="")
        self.table = w.HTML(value="")
        self.button.on_click(lambda _b: self.run())
        self.widget = w.VBox([self.text, self.types, w.HBox([self.choice, self.adapter]),
                              w.HBox([self.button, self.status]), self.highlight, self.table])

    def selected(self) -> tuple[str, str | None]:
        """The (model, adapter) the form points at."""
        if self.choice.value == OTHER_ADAPTER:
            return self.model, self.adapter.value.strip() or None
        return self.model, self.adapters[self.choice.value]

    def run(self) -> None:
        """Find the entities of the form's passage and types; update the outputs in place.
        A failure (no type, an adapter folder that is not there, ...) shows as a message."""
        from .highlight import highlight_html, parse_types

        model, adapter = self.selected()
        self.status.value = "<i>working…</i>"
        self.button.disabled = True
        try:
            wanted = parse_types(self.types.value)
            entities = self.predict(self.text.value, ", ".join(wanted), model, adapter)
        except Exception as err:  # shown in the form, never raised into the event loop
            self.status.value = f'<span style="color:#b71c1c">{html.escape(type(err).__name__)}: ' \
                                f"{html.escape(str(err))}</span>"
            return
        finally:
            self.button.disabled = False
        self.entities = entities
        self.highlight.value = highlight_html(self.text.value, entities, wanted)
        self.table.value = table_html(entities)
        found = sum(1 for s in entities["start"] if s is not None and s == s) if len(entities) else 0
        who = f"{model} + {adapter}" if adapter else f"{model} (untuned)"
        self.status.value = f"{len(entities)} answers, {found} located in the text; student: {html.escape(who)}"


def explorer(predict: Predictor | None = None, passage: str = "", types: str = "", model: str = "smollm2-135m",
             adapter: str | None = None, max_new_tokens: int = 16, preloaded: Any = None) -> Explorer:
    """Build the explorer form (display ``explorer(...).widget``).

    ``adapter`` (the tuned student of notebook 03) is offered as "tuned", the base model as
    "untuned", and any folder can be typed in. ``preloaded`` is a student already loaded for
    ``(model, adapter)``, reused by the default predictor.
    """
    adapters: dict[str, str | None] = {}
    if adapter:
        adapters["tuned"] = adapter
    adapters["untuned"] = None
    if predict is None:
        predict = StudentPredictor(max_new_tokens, {(model, adapter or None): preloaded} if preloaded else None)
    return Explorer(predict, passage, types, model, adapters)


__all__: Sequence[str] = ("Explorer", "StudentPredictor", "explorer", "in_jupyter_server", "table_html")
