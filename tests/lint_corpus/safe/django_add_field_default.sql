BEGIN;
--
-- Add field is_archived to project
--
ALTER TABLE "app_project" ADD COLUMN "is_archived" boolean DEFAULT false NOT NULL;
ALTER TABLE "app_project" ALTER COLUMN "is_archived" DROP DEFAULT;
COMMIT;
