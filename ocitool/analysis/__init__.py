"""Image analysis: dive's file trees and efficiency, CI rules, image diff and reports."""

__all__: list[str] = []
