ALTER TABLE "profiles" ALTER COLUMN "settings" SET DATA TYPE jsonb USING settings::jsonb;--> statement-breakpoint
