"""Operator controls: pause, resume, close all, each sent with the API key the operator types in.

The key lives only in this browser session's password box; close all asks for a confirmation
first. The answer (accepted with its event number, or 401/403 in words) shows in an alert.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import panel as pn

from vibe_panel.client import AdminResult

__all__ = ["Controls"]

Send = Callable[[str, str], Awaitable[AdminResult]]


class Controls:
    def __init__(self, send: Send, *, enabled: bool = True) -> None:
        self._send = send
        self.key = pn.widgets.PasswordInput(label="API key", placeholder="X-API-Key", width=220)
        self.pause = pn.widgets.Button(label="Pause", color="warning", width=100)
        self.resume = pn.widgets.Button(label="Resume", color="success", width=100)
        self.close_all = pn.widgets.Button(label="Close all", color="danger", width=100)
        self.confirm = pn.widgets.Button(label="Yes, close every position", color="danger", visible=False)
        self.cancel = pn.widgets.Button(label="Cancel", visible=False)
        self.result = pn.pane.Alert(
            "", alert_type="light", visible=False, css_classes=["vibe-control-result"]
        )
        self.pause.on_click(self._on("pause"))
        self.resume.on_click(self._on("resume"))
        self.close_all.on_click(self._ask)
        self.confirm.on_click(self._on("close_all"))
        self.cancel.on_click(self._hide_confirm)
        for button in (self.pause, self.resume, self.close_all):
            button.disabled = not enabled
        note = "" if enabled else "Controls need the live service (this is a finished backtest)."
        self.panel = pn.Column(
            pn.Row(self.key, self.pause, self.resume, self.close_all),
            pn.Row(self.confirm, self.cancel),
            self.result,
            pn.pane.Markdown(note),
        )

    def _on(self, command: str) -> Callable[[Any], Awaitable[None]]:
        async def click(_event: Any) -> None:
            self._hide_confirm()
            self.show(await self._send(command, self.key.value_input or self.key.value or ""))

        return click

    def _ask(self, _event: Any = None) -> None:
        self.confirm.visible = self.cancel.visible = True
        self.result.object, self.result.alert_type, self.result.visible = (
            "Close every open position at market? Confirm below.", "warning", True,
        )  # fmt: skip

    def _hide_confirm(self, _event: Any = None) -> None:
        self.confirm.visible = self.cancel.visible = False

    def show(self, result: AdminResult) -> None:
        self.result.object = result.message
        self.result.alert_type = "success" if result.accepted else "danger"
        self.result.visible = True
