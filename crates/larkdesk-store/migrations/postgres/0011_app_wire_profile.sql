-- Which wire an app is answered with: 'docs' (the documentation's shapes) or 'production'
-- (what the production API is publicly reported to send).
ALTER TABLE apps ADD COLUMN wire_profile TEXT NOT NULL DEFAULT 'docs';
