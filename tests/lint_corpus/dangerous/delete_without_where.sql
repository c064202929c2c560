-- clear old notifications
DELETE FROM notifications;
