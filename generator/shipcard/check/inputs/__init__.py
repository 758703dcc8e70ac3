"""Layer 1 of `shipcard check`: which paths become which objects.

`plan` decides the targets (`plan_inputs`) from `paths` (names and display), `targets` (the
plan), `kustomize` (what a kustomization is built from) and `sources` (helmfile releases, Argo
CD sources); `parse` turns the targets into objects with positions (`load_targets`), through
`tools` (kubectl and helm) and `cards` (each card read and validated once per run).
"""
