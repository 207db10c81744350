-- Every change of a key's status, permissions or expiry (or its removal) notifies channel
-- api_key_changed with the key's id, at commit, so that every instance of the service
-- evicts the key from its cache of verified keys, whoever made the change.
CREATE FUNCTION "api_keys_notify_change"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('api_key_changed', OLD."id"::text);
  ELSE
    PERFORM pg_notify('api_key_changed', NEW."id"::text);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "api_keys_notify_change"
AFTER UPDATE OF "status", "permissions", "expiresAt", "revokedAt", "userId" OR DELETE
ON "api_keys"
FOR EACH ROW EXECUTE FUNCTION "api_keys_notify_change"();
