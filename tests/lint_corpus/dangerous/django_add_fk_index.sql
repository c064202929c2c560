BEGIN;
--
-- Add field owner to project
--
ALTER TABLE "app_project" ADD COLUMN "owner_id" bigint NULL CONSTRAINT "app_project_owner_id_fk_auth_user_id" REFERENCES "auth_user"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "app_project_owner_id_fk_auth_user_id" IMMEDIATE;
CREATE INDEX "app_project_owner_id_idx" ON "app_project" ("owner_id");
COMMIT;
