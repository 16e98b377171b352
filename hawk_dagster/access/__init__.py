"""Access control by model groups: who may see, submit, edit and delete eval sets and scans.

Not to be confused with ``hawk_dagster.config.model_groups``, which is the config's ``models:`` entries ("groups"
of models from one provider package). Here a *model group* is an access group: a name in the model-groups file
(``access.model_access_rules``) that a user holds through the permission ``model-access-<group>``.
"""
