"""The Lark grammar of the qrules expression language, shipped as package data (qrules.grammar)."""
