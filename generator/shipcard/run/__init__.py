"""`shipcard run JOB`: start a card's manual job in one environment, named after who runs it and when.

`manual` resolves the card, the job, the environment, the namespace and the kube context into one
`kubectl create job --from=cronjob/…` command; `command` prints it or, with `--apply`, runs it.
Nothing is written to the repository (docs/auditing.md).
"""
