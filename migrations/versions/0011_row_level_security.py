"""PostgreSQL: row-level security on the read model, the second wall between tenants

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:20:00

DESIGN §3: read-model queries are filtered by the caller's visible schools, and on PostgreSQL row-level security
is the second wall (docs/decisions/0036-row-level-security.md). A caller's reads run as the role
`socialgov_reader`, which may only SELECT, and only rows of the trust in `socialgov.trust` and, where a row
belongs to a school, of the schools in `socialgov.schools` ('*': every school of that trust). Both are set for
the read's transaction by `services.readmodel.read_as`. The role that owns the tables (the one migrations and
projections run as) is not subject to the policies, so projections, sweeps and lookups are unchanged.
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

READER = "socialgov_reader"
#: Tables with a trust_id: only that trust's rows.
TRUST_TABLES = (
    "rm_account_runners", "rm_accounts", "rm_acknowledgements", "rm_applications", "rm_audit_events",
    "rm_evidence_files", "rm_feeds", "rm_handovers", "rm_incidents", "rm_integration_clients", "rm_interactions",
    "rm_mentions", "rm_monitoring_checks", "rm_people", "rm_personal_accounts", "rm_policy_versions", "rm_pupils",
    "rm_role_assignments", "rm_rotation_requirements", "rm_school_application_counts", "rm_schools",
    "rm_training_records",
)
#: Of those, tables whose rows belong to a school: only rows of the caller's schools (a row with no school is
#: the trust's). Role assignments are not among them: a person's record shows their roles across the trust.
SCHOOL_TABLES = (
    "rm_account_runners", "rm_accounts", "rm_applications", "rm_audit_events", "rm_evidence_files", "rm_feeds",
    "rm_handovers", "rm_incidents", "rm_interactions", "rm_mentions", "rm_monitoring_checks", "rm_pupils",
    "rm_rotation_requirements", "rm_school_application_counts",
)
#: Read by callers' queries, with no tenant of their own (positions, chain links, the trusts table by id).
OTHER_TABLES = ("rm_trusts", "projection_tracking", "audit_chain", "rm_audit_entities")

TRUST = "NULLIF(current_setting('socialgov.trust', true), '')::uuid"
SCHOOLS = ("CASE WHEN current_setting('socialgov.schools', true) = '*' THEN true "
           "ELSE school_id IS NULL OR school_id = ANY (NULLIF(current_setting('socialgov.schools', true), '')"
           "::uuid[]) END")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Roles belong to the cluster, not the database: another database's migration may create it at the same moment.
    op.execute(f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
        BEGIN
            CREATE ROLE {READER} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, '{READER}', 'MEMBER') THEN
        EXECUTE format('GRANT {READER} TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {READER}', current_schema());
END $$
""")
    for table in TRUST_TABLES + OTHER_TABLES:
        op.execute(f"GRANT SELECT ON {table} TO {READER}")
    for table in TRUST_TABLES:
        wall = f"trust_id = {TRUST}" + (f" AND ({SCHOOLS})" if table in SCHOOL_TABLES else "")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON {table} FOR SELECT TO {READER} USING ({wall})")
    op.execute("ALTER TABLE rm_trusts ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_wall ON rm_trusts FOR SELECT TO {READER} USING (id = {TRUST})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*TRUST_TABLES, "rm_trusts"):
        op.execute(f"DROP POLICY IF EXISTS tenant_wall ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in TRUST_TABLES + OTHER_TABLES:
        op.execute(f"REVOKE SELECT ON {table} FROM {READER}")
    op.execute(f"DO $$ BEGIN EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {READER}', current_schema()); END $$")
