CREATE INDEX measurements_device_idx ON ONLY measurements (device_id);
CREATE INDEX CONCURRENTLY measurements_2025_01_device_idx ON measurements_2025_01 (device_id);
ALTER INDEX measurements_device_idx ATTACH PARTITION measurements_2025_01_device_idx;
CREATE INDEX CONCURRENTLY measurements_2025_02_device_idx ON measurements_2025_02 (device_id);
ALTER INDEX measurements_device_idx ATTACH PARTITION measurements_2025_02_device_idx;
