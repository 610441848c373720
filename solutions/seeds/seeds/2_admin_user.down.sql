-- This seed's user only, found by the email no one else can have.
DELETE FROM users WHERE email = 'admin@workbook.example';
